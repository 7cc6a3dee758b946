/* Arm semihosting: ending the run with an exit code and reading host files.
 * With QEMU's `-semihosting-config enable=on,target=native` the host side is
 * QEMU itself. */
#include <string.h>

#include "bsp.h"

#define SYS_OPEN 0x01u
#define SYS_CLOSE 0x02u
#define SYS_READ 0x06u
#define SYS_FLEN 0x0Cu
#define SYS_EXIT_EXTENDED 0x20u
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define OPEN_MODE_RB 1u

static int32_t semihost(uint32_t operation, const void *block)
{
    register uint32_t op __asm__("r0") = operation;
    register const void *arg __asm__("r1") = block;
    __asm__ volatile("bkpt 0xab" : "+r"(op) : "r"(arg) : "memory");
    return (int32_t)op;
}

void bsp_exit(int code)
{
    static uint32_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = (uint32_t)code;
    semihost(SYS_EXIT_EXTENDED, block); /* SYS_EXIT_EXTENDED carries the exit code */
    for (;;) {
    }
}

int32_t bsp_read_file(const char *path, uint8_t *buf, uint32_t capacity)
{
    uint32_t open_block[3] = {(uint32_t)path, OPEN_MODE_RB, (uint32_t)strlen(path)};
    int32_t handle = semihost(SYS_OPEN, open_block);
    if (handle < 0) {
        return -1;
    }
    uint32_t handle_block[1] = {(uint32_t)handle};
    int32_t size = semihost(SYS_FLEN, handle_block);
    int32_t result = size < 0 ? -1 : (uint32_t)size > capacity ? -2 : size;
    if (result > 0) {
        uint32_t read_block[3] = {(uint32_t)handle, (uint32_t)buf, (uint32_t)size};
        if (semihost(SYS_READ, read_block) != 0) { /* returns the bytes NOT read */
            result = -1;
        }
    }
    semihost(SYS_CLOSE, handle_block);
    return result;
}
