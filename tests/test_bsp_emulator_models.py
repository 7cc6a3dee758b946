"""The firmware's UART start-up and timer choice, run against models of how
each emulator's peripherals behave (no Renode needed).

The BSP's functions from the prebuilt ELFs run on the Unicorn CPU emulator,
with MMIO callbacks that model, register by register:

- Renode's CMSDK UART (renode-infrastructure
  src/Emulator/Peripherals/Peripherals/UART/CMSDK_APB_UART.cs): received bytes
  queue even while the receiver is disabled; a DATA read with the receiver
  off returns 0 and takes nothing; with it on, it takes the oldest byte
  (0 when empty); STATE bit 1 is "a byte is waiting".
- QEMU's (hw/char/cmsdk-apb-uart.c): nothing is received while the receiver
  is off; a DATA read returns the data buffer, clears RXFULL and is the only
  access that tells the character backend to deliver more (accept_input).
- Renode's absent CMSDK timer: an unmapped address reads 0, writes vanish
  (SystemBus.cs ReportNonExistingRead/Write); its SysTick (NVIC.cs) counts
  down from RELOAD at the NVIC's systickFrequency.
- QEMU's CMSDK timer (hw/timer/cmsdk-apb-timer.c): CTRL reads back, VALUE
  counts down from RELOAD.
"""
from __future__ import annotations

import shutil
import time
from collections import deque

import pytest
import unicorn
from elftools.elf.elffile import ELFFile
from unicorn import arm_const

from firmware_bins import prebuilt
from platforms import catalog, get_platform
from sim import open_emulator
from sim.elf import FirmwareImage

PLATFORMS = {"cortex-m4": arm_const.UC_CPU_ARM_CORTEX_M4, "cortex-m0plus": arm_const.UC_CPU_ARM_CORTEX_M0,
             "cortex-m33": arm_const.UC_CPU_ARM_CORTEX_M33}
SCS_BASE = 0xE000E000
SYSTICK_CSR, SYSTICK_RVR, SYSTICK_CVR = 0x10, 0x14, 0x18
UART_DATA, UART_STATE, UART_CTRL = 0x0, 0x4, 0x8
RX_FULL, RX_EN, TX_EN = 0x2, 0x2, 0x1


class RenodeUart:
    def __init__(self, queued: bytes = b"", arrives_on_first_data_read: bytes = b""):
        self.queue = deque(queued)
        self.late = deque(arrives_on_first_data_read)
        self.ctrl = 0
        self.sent = bytearray()
        self.data_reads = 0

    def read(self, offset: int) -> int:
        if offset == UART_STATE:
            return RX_FULL if self.queue else 0
        if offset == UART_CTRL:
            return self.ctrl
        if offset == UART_DATA:
            self.data_reads += 1
            self.queue.extend(self.late)  # a byte that lands between the firmware's STATE and DATA reads
            self.late.clear()
            if not self.ctrl & RX_EN:
                return 0
            return self.queue.popleft() if self.queue else 0
        return 0

    def write(self, offset: int, value: int) -> None:
        if offset == UART_CTRL:
            self.ctrl = value & 0x7F
        elif offset == UART_DATA and self.ctrl & TX_EN:
            self.sent.append(value & 0xFF)


class QemuUart(RenodeUart):
    """The host has bytes ready; QEMU hands one over only when the receiver is
    on, RXFULL is clear, and a DATA read has asked for more (accept_input)."""

    def __init__(self, host_bytes: bytes = b""):
        super().__init__()
        self.host = deque(host_bytes)
        self.rxbuf, self.rxfull, self.accept_input_calls = 0, False, 0

    def read(self, offset: int) -> int:
        if offset == UART_STATE:
            return RX_FULL if self.rxfull else 0
        if offset == UART_DATA:
            value, self.rxfull = self.rxbuf, False
            self.accept_input_calls += 1
            if self.ctrl & RX_EN and self.host:
                self.rxbuf, self.rxfull = self.host.popleft(), True
            return value
        return super().read(offset)


class AbsentPeripheral:
    """What Renode has where no model is mapped: reads 0, writes are dropped."""

    def __init__(self):
        self.accesses = 0

    def read(self, offset: int) -> int:
        self.accesses += 1
        return 0

    def write(self, offset: int, value: int) -> None:
        self.accesses += 1


class DownCounter:
    """A down counter clocked by the test (`now` in ticks)."""

    def __init__(self, bits: int):
        self.mask = (1 << bits) - 1
        self.reload = self.start_value = self.started_at = 0
        self.enabled = False
        self.now = 0

    def value(self) -> int:
        if not self.enabled:
            return self.start_value
        period = self.reload + 1
        return (self.start_value - (self.now - self.started_at)) % period

    def restart(self, value: int) -> None:
        self.start_value, self.started_at = value & self.mask, self.now


class QemuCmsdkTimer(DownCounter):
    def __init__(self):
        super().__init__(32)
        self.ctrl = 0

    def read(self, offset: int) -> int:
        return {0x0: self.ctrl, 0x4: self.value(), 0x8: self.reload}.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        if offset == 0x0:
            self.ctrl, self.enabled = value & 0xF, bool(value & 1)
            self.restart(self.value())
        elif offset == 0x4:
            self.restart(value)
        elif offset == 0x8:
            self.reload = value


class SysTick(DownCounter):
    """SysTick inside the system control space (only its three registers are used)."""

    def __init__(self):
        super().__init__(24)
        self.accesses = 0

    def read(self, offset: int) -> int:
        self.accesses += 1
        return {SYSTICK_CSR: int(self.enabled), SYSTICK_RVR: self.reload, SYSTICK_CVR: self.value()}.get(offset, 0)

    def write(self, offset: int, value: int) -> None:
        self.accesses += 1
        if offset == SYSTICK_CSR:
            self.enabled = bool(value & 1)
            self.restart(self.value())
        elif offset == SYSTICK_RVR:
            self.reload = value & self.mask
        elif offset == SYSTICK_CVR:
            self.restart(self.reload)


class Board:
    """A prebuilt ELF on Unicorn with the given peripheral models; call() runs one function."""

    RETURN_BEFORE_END = 0x10  # a `b .` near the end of flash, past the image, that the functions return to

    def __init__(self, platform_name: str, uart, timer, systick: SysTick):
        self.platform = get_platform(platform_name)
        self.firmware = FirmwareImage(prebuilt(platform_name, "kws"))
        self.return_address = self.platform.flash.end - self.RETURN_BEFORE_END
        uc = unicorn.Uc(unicorn.UC_ARCH_ARM, unicorn.UC_MODE_THUMB | unicorn.UC_MODE_MCLASS)
        uc.ctl_set_cpu_model(PLATFORMS[platform_name])
        for region in self.platform.regions:
            uc.mem_map(region.base, region.size)
        with open(self.firmware.path, "rb") as f:
            for segment in ELFFile(f).iter_segments():
                if segment["p_type"] == "PT_LOAD" and segment["p_filesz"]:
                    uc.mem_write(segment["p_paddr"], segment.data())
        uc.mem_write(self.return_address, b"\xfe\xe7")  # b .
        self._mmio(uc, self.platform.uart.base, uart)
        self._mmio(uc, self.platform.timer.base, timer)
        self._mmio(uc, SCS_BASE, systick)
        self.uc = uc

    @staticmethod
    def _mmio(uc, base: int, model) -> None:
        uc.mmio_map(base, 0x1000, lambda _uc, offset, size, _d: model.read(offset), None,
                    lambda _uc, offset, size, value, _d: model.write(offset, value), None)

    def call(self, name: str) -> int:
        address = self.firmware.address(name)
        assert address is not None, name
        self.uc.reg_write(arm_const.UC_ARM_REG_SP, self.platform.ram.end - 0x100)
        self.uc.reg_write(arm_const.UC_ARM_REG_LR, self.return_address | 1)
        self.uc.emu_start(address | 1, self.return_address, count=200_000)
        return self.uc.reg_read(arm_const.UC_ARM_REG_R0)


def _renode_board(name: str, uart: RenodeUart) -> tuple[Board, SysTick, AbsentPeripheral]:
    systick, absent = SysTick(), AbsentPeripheral()
    return Board(name, uart, absent, systick), systick, absent


# -- the first input byte --------------------------------------------------------------

@pytest.mark.parametrize("name", PLATFORMS)
def test_bytes_queued_before_start_all_arrive_on_renode(name):
    """`printf 'echo 0123abcd%%exit 0%%' | tinyperf exec ... --backend renode`: Renode
    queues the bytes before the firmware enables its receiver; none may be lost."""
    sent = b"echo 0123abcd%"
    uart = RenodeUart(queued=sent)
    board, _, _ = _renode_board(name, uart)
    board.call("uart_init")
    assert bytes(board.call("bsp_getc") for _ in sent) == sent


@pytest.mark.parametrize("name", PLATFORMS)
def test_a_byte_landing_during_the_start_up_read_is_kept(name):
    uart = RenodeUart(arrives_on_first_data_read=b"e")
    board, _, _ = _renode_board(name, uart)
    board.call("uart_init")
    assert uart.data_reads == 1  # the receiver looked empty: the start-up read happened and took the byte
    uart.queue.extend(b"cho%")
    assert bytes(board.call("bsp_getc") for _ in range(4)) == b"echo"


@pytest.mark.parametrize("name", PLATFORMS)
def test_qemu_still_gets_its_start_up_data_read(name):
    """QEMU's start-up fix: with the receiver empty, init reads DATA once after
    enabling it (that read asks QEMU's backend for input), and the first byte
    the host had ready is then the first bsp_getc returns."""
    uart = QemuUart(host_bytes=b"ab")
    board = Board(name, uart, QemuCmsdkTimer(), SysTick())
    board.call("uart_init")
    assert uart.accept_input_calls == 1 and uart.ctrl == TX_EN | RX_EN
    assert bytes(board.call("bsp_getc") for _ in range(2)) == b"ab"


@pytest.mark.skipif(shutil.which("qemu-system-arm") is None, reason="needs qemu-system-arm (run ci/setup)")
@pytest.mark.parametrize("name", list(catalog()))
def test_qemu_answers_a_command_sent_before_the_ready_line_at_once(name):
    """The real QEMU: without the start-up DATA read the first byte waits about
    a second for QEMU's main loop; with it the reply (boot included) takes
    tens of ms here (28 to 116 ms measured on the six platforms)."""
    with open_emulator(name, prebuilt(get_platform(name).image_platform, "selftest")) as dut:
        start = time.monotonic()
        dut.write("echo first%")
        dut.expect(r"^echo-\[first\]$", 10)
        assert time.monotonic() - start < 0.6


# -- the lap timer -------------------------------------------------------------------------

@pytest.mark.parametrize("name", PLATFORMS)
def test_renode_times_with_systick_at_the_platform_rate(name):
    board, systick, absent = _renode_board(name, RenodeUart())
    board.call("timer_init")
    assert absent.accesses > 0 and systick.enabled and systick.reload == 0xFFFFFF
    us_per_tick = 1_000_000 // board.platform.fallback_timer.clock_hz
    start = board.call("bsp_time_us")
    total = 0
    for step in (1234, 0xF00000, 0xF00000, 0xFFFFFF, 5):  # past several 24-bit wraps, each gap under one
        systick.now += step
        total += step
        assert board.call("bsp_time_us") - start == total * us_per_tick


@pytest.mark.parametrize("name", PLATFORMS)
def test_qemu_keeps_the_cmsdk_timer_and_never_touches_systick(name):
    timer, systick = QemuCmsdkTimer(), SysTick()
    board = Board(name, QemuUart(), timer, systick)
    board.call("timer_init")
    assert timer.enabled and timer.reload == 0xFFFFFFFF
    ticks_per_us = board.platform.timer.clock_hz // 1_000_000
    start = board.call("bsp_time_us")
    timer.now += 2_500_000  # 100 ms at 25 MHz
    assert board.call("bsp_time_us") - start == 2_500_000 // ticks_per_us
    assert systick.accesses == 0
