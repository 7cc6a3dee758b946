"""The platform catalog, the generated board files and the Renode descriptions."""
from __future__ import annotations

import re

import pytest

from platforms import UnknownPlatformError, catalog, default_platform, get_platform
from platforms.gen import board_header, linker_script, make_fragment

REQUIRED = {  # name: (QEMU machine, nominal clock MHz), from the foundation issue
    "cortex-m0plus": ("mps2-an385", 64),
    "cortex-m3": ("mps2-an385", 100),
    "cortex-m4": ("mps2-an386", 120),
    "cortex-m7": ("mps2-an500", 280),
    "cortex-m33": ("mps2-an505", 160),
    "cortex-m55": ("mps3-an547", 160),
}


BOARDS = {  # name: (QEMU machine, board clock MHz, the platform whose ELFs it runs), from the memory-model issue
    "nucleo-l4r5zi": ("mps2-an386", 120, "cortex-m4"),
    "nucleo-h7a3zi": ("mps2-an500", 280, "cortex-m7"),
    "nrf5340-app": ("mps2-an505", 128, "cortex-m33"),
    "nucleo-u575zi": ("mps2-an505", 160, "cortex-m33"),
}


def test_catalog_has_the_required_platforms():
    boards = catalog()
    assert list(boards) == list(REQUIRED) + list(BOARDS)
    for name, (machine, clock, core_platform) in BOARDS.items():
        assert (boards[name].machine, boards[name].clock_mhz, boards[name].image_platform) == (
            machine, clock, core_platform)
    for name, (machine, clock) in REQUIRED.items():
        assert (boards[name].machine, boards[name].clock_mhz) == (machine, clock)
        assert boards[name].simulation == "qemu"
    assert default_platform().name == "cortex-m4"


def test_unknown_platform_suggests_the_nearest_name():
    with pytest.raises(UnknownPlatformError, match="did you mean 'cortex-m33'"):
        get_platform("cortex_m33")
    with pytest.raises(UnknownPlatformError, match="known: cortex-m0plus"):
        get_platform("riscv")


@pytest.mark.parametrize("name", list(REQUIRED) + list(BOARDS))
def test_repl_agrees_with_platform_file(name):
    p = get_platform(name)
    repl = p.repl_file.read_text()
    blocks = dict(re.findall(r"^(\w+): [\w.]+ @ sysbus (0x[0-9a-fA-F]+)", repl, re.M))
    sizes = dict(re.findall(r"^(\w+): Memory\.MappedMemory @ sysbus 0x[0-9a-fA-F]+\s+size: (0x[0-9a-fA-F]+)", repl, re.M))
    assert int(blocks["flash"], 16) == p.flash.base and int(sizes["flash"], 16) == p.flash.size
    assert int(blocks["ram"], 16) == p.ram.base and int(sizes["ram"], 16) == p.ram.size
    assert int(blocks["uart0"], 16) == p.uart.base
    assert "UART.CMSDK_APB_UART" in repl


@pytest.mark.parametrize("name", list(REQUIRED))
def test_generated_board_files_carry_the_platform_facts(name):
    p = get_platform(name)
    assert f"TP_UART_BASE 0x{p.uart.base:08x}u" in board_header(p)
    assert f"TP_TIMER_TICKS_PER_US {p.timer.clock_hz // 1_000_000}u" in board_header(p)
    ld = linker_script(p)
    assert f"ORIGIN = 0x{p.flash.base:08x}, LENGTH = 0x{p.flash.size:x}" in ld
    assert f"ORIGIN = 0x{p.ram.base:08x}, LENGTH = 0x{p.ram.size:x}" in ld
    assert " ".join(p.cflags) in make_fragment(p)
