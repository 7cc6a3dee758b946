/* Reads lines "x multiplier shift" and prints tp_requantize(x, multiplier, shift). */
#include <stdio.h>
#include "requantize.h"

int main(void)
{
    long x, m, s;
    while (scanf("%ld %ld %ld", &x, &m, &s) == 3) {
        printf("%ld\n", (long)tp_requantize((int32_t)x, (int32_t)m, (int32_t)s));
    }
    return 0;
}
