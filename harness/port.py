"""`tinyperf port`: the port kit for one platform, generated from its TOML.

The kit is everything a third-party MLPerf Tiny submission (the official API,
its model code) needs to run on a tinyperf board: the board support sources
of our own firmware (startup and vector table, CMSDK UART, timer,
semihosting exit), board.h and link.ld generated from the platform file, the
submitter functions (firmware/port/th_port.c) and port.mk with the flags.
The README's "Porting a submission" section says how to use it."""
from __future__ import annotations

import shutil
from pathlib import Path

from platforms import Platform
from platforms.gen import board_header, linker_script

FIRMWARE_DIR = Path(__file__).resolve().parent.parent / "firmware"
# Copied as they are; markers.c is left out on purpose: a submission's window
# is th_timestamp, and tp_mark_* would take precedence over it.
KIT_SOURCES = (
    "port/th_port.h", "port/th_port.c", "port/th_port.cpp",
    "bsp/bsp.h", "bsp/cortexm/bsp_internal.h", "bsp/cortexm/startup.c", "bsp/cortexm/uart_cmsdk.c",
    "bsp/cortexm/timer.c", "bsp/cortexm/semihost.c",
)
C_SOURCES = ("startup.c", "uart_cmsdk.c", "timer.c", "semihost.c")
# Linking without start files (startup.c is the reset handler); newlib-nano
# with float printf (th_results prints %0.3f), libnosys for the syscalls
# (_sbrk uses the heap after .bss), unused sections dropped.
LINK_FLAGS = ("-nostartfiles", "--specs=nano.specs", "--specs=nosys.specs", "-u", "_printf_float",
              "-Wl,--gc-sections")
CXX_FLAGS = ("-fno-exceptions", "-fno-rtti", "-fno-threadsafe-statics", "-fno-use-cxa-atexit")


def port_fragment(p: Platform, kit: Path) -> str:
    return f"""# Generated from {p.source.name} by 'tinyperf port': do not edit.
# In a Makefile: include {kit}/port.mk, then compile PORT_C_SRC with $(CC)
# and PORT_CXX_SRC with $(CXX) (both with PORT_CFLAGS; C++ also PORT_CXXFLAGS)
# next to your own sources, and link with PORT_LDFLAGS.
PORT_DIR := {kit}
PORT_PLATFORM := {p.name}
CC := arm-none-eabi-gcc
CXX := arm-none-eabi-g++
PORT_CFLAGS := {' '.join(p.cflags)} -ffunction-sections -fdata-sections -I$(PORT_DIR)
PORT_CXXFLAGS := {' '.join(CXX_FLAGS)}
PORT_LDFLAGS := {' '.join(p.cflags)} -T$(PORT_DIR)/link.ld {' '.join(LINK_FLAGS)}
PORT_C_SRC := {' '.join(f'$(PORT_DIR)/{name}' for name in C_SOURCES)}
# th_port.cpp: the submitter functions for a C++ API (th_port.c for a C API).
PORT_CXX_SRC := $(PORT_DIR)/th_port.cpp
"""


def write_kit(platform: Platform, out: Path) -> list[Path]:
    """Write the kit for `platform` into `out`; the files written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in KIT_SOURCES:
        target = out / Path(source).name
        shutil.copyfile(FIRMWARE_DIR / source, target)
        written.append(target)
    for name, text in (("board.h", board_header(platform)), ("link.ld", linker_script(platform)),
                       ("port.mk", port_fragment(platform, out.resolve()))):
        (out / name).write_text(text)
        written.append(out / name)
    return written
