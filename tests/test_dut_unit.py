"""The protocol client's parsing, on a scripted fake emulator (no QEMU)."""
from __future__ import annotations

import io

import pytest

from harness.dut import Dut, DutError
from sim.errors import FirmwareTimeout
from sim.plugin import CounterLog


class FakeFirmware:
    def address(self, name):
        return {"tp_mark_begin": 0x100, "tp_mark_end": 0x200}.get(name)


class ScriptedEmulator:
    """Answers each written command with scripted lines; markers as a plugin would record them."""

    suspended = False  # never stopped by a signal: a missing line is the firmware's

    def __init__(self, replies: dict[str, list[str]], marker_trace=()):
        self.firmware = FakeFirmware()
        self.markers = {"tp_mark_begin": 0x100, "tp_mark_end": 0x200}
        self.replies = replies
        self.pending: list[str] = []
        self.log = CounterLog(path=None)  # type: ignore[arg-type]
        self.trace = list(marker_trace)
        self.written = []
        self.suspended = False  # never stopped by a signal

    def write(self, data):
        text = data.decode() if isinstance(data, bytes) else data
        self.written.append(text)
        for command in filter(None, text.split("%")):
            self.pending += self.replies.get(command, [f"e-[Unknown command: {command}]", "m-ready"])
            if command.startswith("infer"):
                self.log.markers += self.trace

    def read_line(self, timeout):
        if not self.pending:
            raise FirmwareTimeout(f"no UART line within {timeout:g} s")
        return self.pending.pop(0)

    def counters(self):
        return self.log


INFER = ["m-warmup-start-1", "m-warmup-done", "m-infer-start-2", "m-lap-us-1000", "m-lap-us-5000",
         "m-infer-done", "m-results-[0.012,0.988,]", "m-ready"]


def test_infer_reply_is_parsed():
    emulator = ScriptedEmulator({"infer 2 1": INFER}, marker_trace=[(0x100, 50), (0x200, 2050)])
    transcript = io.StringIO()
    result = Dut(emulator, transcript).infer(2, 1)
    assert result.results == [0.012, 0.988]
    assert result.lap_us == (1000, 5000)
    assert result.instructions == 2000 and result.instructions_per_inference == 1000
    assert "> infer 2 1%" in transcript.getvalue() and "< m-results-[0.012,0.988,]" in transcript.getvalue()


def test_error_line_raises_with_transcript_tail():
    emulator = ScriptedEmulator({"infer 0 0": ["e-[Inference iterations must be >0]", "m-ready"]})
    with pytest.raises(DutError, match=r"DUT refused 'infer 0 0': e-\[Inference iterations must be >0\]") as err:
        Dut(emulator).infer(0, 0)
    assert "> infer 0 0%" in err.value.tail


def test_missing_m_ready_is_a_timeout_error():
    emulator = ScriptedEmulator({"name": ["m-name-dut-[x]"]})
    with pytest.raises(DutError, match="no UART line within") as err:
        Dut(emulator).send("name", line_timeout=0.01)
    assert err.value.tail[-1] == "< m-name-dut-[x]"


def test_profile_and_outputs():
    emulator = ScriptedEmulator({
        "profile": ["m-profile-[ULPMark for tinyML Firmware V0.0.1]", "m-model-[kws01]", "m-ready"],
        "outputs": ["m-outputs-[80ff7f00]", "m-ready"],
    })
    dut = Dut(emulator)
    assert dut.profile() == "kws01"
    assert dut.outputs() == bytes([0x80, 0xFF, 0x7F, 0x00])


def test_uart_load_sends_official_chunks_pipelined():
    data = bytes(range(70))
    replies = {"db load 70": ["m-[Expecting 70 bytes]", "m-ready"]}
    chunks = [data[i:i + 31].hex() for i in range(0, 70, 31)]
    for chunk in chunks:
        replies[f"db {chunk}"] = ["m-ready"]
    replies[f"db {chunks[-1]}"] = ["m-load-done", "m-ready"]
    emulator = ScriptedEmulator(replies)
    Dut(emulator).load(data, via="uart")
    assert emulator.written[0] == "db load 70%"
    assert emulator.written[1] == "".join(f"db {c}%" for c in chunks)  # one write: pipelined
    assert [len(c) for c in chunks] == [62, 62, 16]
