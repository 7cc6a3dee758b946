"""Generate the board files a firmware build needs from a platform description.

    python -m platforms.gen PLATFORM OUTDIR

writes OUTDIR/board.h (UART, timer, core macros), OUTDIR/link.ld (memory
regions) and OUTDIR/platform.mk (compiler flags), so the C side never
repeats an address that the platform file already holds.
"""
from __future__ import annotations

import sys
from pathlib import Path

from platforms import Platform, UnknownPlatformError, get_platform

TIMER_MACROS = {"cmsdk-apb-timer": "TP_TIMER_CMSDK", "sse-system-counter": "TP_TIMER_SSE_COUNTER"}
FALLBACK_TIMER_MACROS = {"cortex-m-systick": "TP_FALLBACK_TIMER_SYSTICK"}


def board_header(p: Platform) -> str:
    ticks_per_us, rest = divmod(p.timer.clock_hz, 1_000_000)
    if rest:
        raise ValueError(f"{p.source}: timer clock_hz must be a whole number of MHz")
    return f"""/* Generated from {p.source.name} by platforms.gen: do not edit. */
#ifndef TP_BOARD_H
#define TP_BOARD_H
#define TP_PLATFORM_NAME "{p.name}"
#define TP_UART_BASE 0x{p.uart.base:08x}u
#define {TIMER_MACROS[p.timer.kind]} 1
#define TP_TIMER_BASE 0x{p.timer.base:08x}u
#define TP_TIMER_TICKS_PER_US {ticks_per_us}u
{_fallback_timer_macros(p)}#define TP_CLOCK_MHZ {p.clock_mhz:g}
#endif
"""


def _fallback_timer_macros(p: Platform) -> str:
    """The timer the firmware uses when the board timer does not answer (none: no lines)."""
    timer = p.fallback_timer
    if timer is None:
        return ""
    us_per_tick, rest = divmod(1_000_000, timer.clock_hz) if timer.clock_hz else (0, 1)
    if rest or timer.kind not in FALLBACK_TIMER_MACROS:
        raise ValueError(f"{p.source}: fallback_timer must be one of {list(FALLBACK_TIMER_MACROS)} "
                         "with a clock_hz that divides 1 MHz")
    return (f"#define {FALLBACK_TIMER_MACROS[timer.kind]} 1\n"
            f"#define TP_FALLBACK_TIMER_BASE 0x{timer.base:08x}u\n"
            f"#define TP_FALLBACK_TIMER_US_PER_TICK {us_per_tick}u\n")


def linker_script(p: Platform) -> str:
    return f"""/* Generated from {p.source.name} by platforms.gen: do not edit. */
MEMORY
{{
  FLASH (rx)  : ORIGIN = 0x{p.flash.base:08x}, LENGTH = 0x{p.flash.size:x}
  RAM   (rwx) : ORIGIN = 0x{p.ram.base:08x}, LENGTH = 0x{p.ram.size:x}
}}
ENTRY(reset_handler)
SECTIONS
{{
  .text : {{
    KEEP(*(.vectors))
    *(.text .text.*)
    *(.rodata .rodata.*)
    . = ALIGN(4);
  }} > FLASH
  .preinit_array : {{
    __preinit_array_start = .;
    KEEP(*(.preinit_array))
    __preinit_array_end = .;
  }} > FLASH
  .init_array : {{
    __init_array_start = .;
    KEEP(*(SORT(.init_array.*)))
    KEEP(*(.init_array))
    __init_array_end = .;
  }} > FLASH
  .ARM.extab : {{ *(.ARM.extab* .gnu.linkonce.armextab.*) }} > FLASH
  .ARM.exidx : {{ *(.ARM.exidx* .gnu.linkonce.armexidx.*) }} > FLASH
  __data_load = LOADADDR(.data);
  .data : {{
    __data_start = .;
    *(.data .data.*)
    . = ALIGN(4);
    __data_end = .;
  }} > RAM AT > FLASH
  .bss (NOLOAD) : {{
    __bss_start = .;
    *(.bss .bss.* COMMON)
    . = ALIGN(8);
    __bss_end = .;
    end = .;
  }} > RAM
  __stack_top = ORIGIN(RAM) + LENGTH(RAM);
  __stack_limit = __stack_top - 0x4000;
  ASSERT(__bss_end <= __stack_limit, "RAM overflow: data + bss leave less than 16 KiB of stack")
}}
"""


def make_fragment(p: Platform) -> str:
    return (f"# Generated from {p.source.name} by platforms.gen: do not edit.\n"
            f"PLATFORM_CFLAGS := {' '.join(p.cflags)}\n"
            f"PLATFORM_FLASH_BYTES := {p.flash.size}\n"
            f"PLATFORM_RAM_BYTES := {p.ram.size}\n")


def generate(platform: Platform, outdir: Path) -> None:
    outdir.mkdir(parents=True, exist_ok=True)
    (outdir / "board.h").write_text(board_header(platform))
    (outdir / "link.ld").write_text(linker_script(platform))
    (outdir / "platform.mk").write_text(make_fragment(platform))


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m platforms.gen PLATFORM OUTDIR", file=sys.stderr)
        return 2
    try:
        generate(get_platform(argv[0]), Path(argv[1]))
    except UnknownPlatformError as err:
        print(f"platforms.gen: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
