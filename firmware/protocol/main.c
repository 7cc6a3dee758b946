/* Benchmark firmware entry point: announce readiness, then serve commands
 * until the input ends (only a host build's stdin ever ends). */
#include "bsp.h"
#include "protocol.h"

int main(void)
{
    bsp_init();
    protocol_boot();
    for (;;) {
        int c = bsp_getc();
        if (c < 0)
            bsp_exit(0);
        protocol_feed((char)c);
    }
}
