/* Measurement markers (see bsp.h).  Each writes a distinct value so the
 * compiler can never fold the two into one address (-fipa-icf at -O2). */
#include "bsp.h"

volatile uint32_t tp_mark_last;

void tp_mark_begin(void)
{
    tp_mark_last = 1;
}

void tp_mark_end(void)
{
    tp_mark_last = 2;
}
