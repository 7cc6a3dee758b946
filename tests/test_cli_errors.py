"""Bad input to `tinyperf exec`/`selftest`: one clear line, non-zero exit, no
traceback, no orphan emulator, within timeout + 5 s."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import needs_toolchain

pytestmark = needs_toolchain


def tinyperf(*args: str, env: dict | None = None, input: bytes | None = None, timeout: float = 60):
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "harness.cli", *args], capture_output=True, input=input,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    proc.elapsed = time.monotonic() - start
    proc.out, proc.err = proc.stdout.decode(), proc.stderr.decode()
    return proc


def assert_one_line_error(proc, *fragments: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.err
    lines = [ln for ln in proc.err.splitlines() if ln.startswith("tinyperf: error:")]
    assert len(lines) == 1, proc.err
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def assert_no_emulator_left(marker: str | Path) -> None:
    time.sleep(0.2)
    found = subprocess.run(["pgrep", "-f", f"qemu-system-arm.*{marker}"], capture_output=True, text=True)
    assert found.stdout.strip() == "", f"orphan emulator: {found.stdout}"


def test_not_an_elf(tmp_path):
    junk = tmp_path / "junk.elf"
    junk.write_bytes(b"hello, not an elf")
    assert_one_line_error(tinyperf("exec", str(junk)), "not an ELF file")


def test_missing_file(tmp_path):
    assert_one_line_error(tinyperf("exec", str(tmp_path / "nope.elf")), "no such firmware file")


def test_64_bit_elf():
    assert_one_line_error(tinyperf("exec", shutil.which("ls")), "64-bit ELF")


def test_elf_for_another_architecture(tmp_path, selftest_elf):
    data = bytearray(selftest_elf("cortex-m4").read_bytes())
    data[18:20] = (3).to_bytes(2, "little")  # e_machine = EM_386
    other = tmp_path / "x86.elf"
    other.write_bytes(data)
    assert_one_line_error(tinyperf("exec", str(other)), "EM_386", "not Arm")


def test_segments_outside_the_platform_memory(selftest_elf):
    # Linked for the M4 map (flash at 0), run on the M33 (flash at 0x10000000).
    proc = tinyperf("exec", str(selftest_elf("cortex-m4")), "--platform", "cortex-m33")
    assert_one_line_error(proc, "outside cortex-m33's memory", "link it for this platform")


def test_unknown_platform_suggests(selftest_elf):
    proc = tinyperf("exec", str(selftest_elf("cortex-m4")), "--platform", "cortex-m7f")
    assert_one_line_error(proc, "unknown platform 'cortex-m7f'", "did you mean 'cortex-m7'")
    assert proc.returncode == 2


def test_endless_loop_times_out_and_reaps(asm_elf):
    elf = asm_elf("    ldr r1, =0x40004000\n    movs r2, #1\n    str r2, [r1, #8]\n    movs r2, #'x'\n"
                  "    str r2, [r1]\n1:  b 1b\n", name="loop")
    proc = tinyperf("exec", str(elf), "--timeout", "2")
    assert_one_line_error(proc, "did not exit within 2 s", "endless loop")
    assert proc.returncode == 124 and proc.elapsed < 2 + 5
    assert_no_emulator_left(elf)


def test_firmware_that_never_writes(asm_elf):
    elf = asm_elf("1:  b 1b\n", name="silent")
    proc = tinyperf("exec", str(elf), "--timeout", "1.5")
    assert_one_line_error(proc, "printed nothing on its UART")
    assert proc.elapsed < 1.5 + 5
    assert_no_emulator_left(elf)


def test_lockup_reports_pc_and_symbol(asm_elf):
    elf = asm_elf("    nop\n    udf #0\n", name="lockup")
    proc = tinyperf("exec", str(elf), "--timeout", "10")
    assert_one_line_error(proc, "locked up", "PC=0x")
    assert proc.elapsed < 10
    assert_no_emulator_left(elf)


@pytest.mark.parametrize("platform", ["cortex-m0plus", "cortex-m4", "cortex-m33", "cortex-m55"])
def test_fault_handler_reports_pc_and_symbol(platform, selftest_elf):
    proc = tinyperf("exec", str(selftest_elf(platform)), "--platform", platform, "--timeout", "10", input=b"fault%")
    assert_one_line_error(proc, "firmware fault", "(st_fault+0x2)")
    assert proc.returncode == 3


def test_uart_closed_early(selftest_elf):
    from sim import RunOptions, open_emulator
    from sim.errors import EmulatorError

    with open_emulator("cortex-m4", selftest_elf("cortex-m4"), RunOptions()) as dut:
        dut.expect("selftest-ready", 10)
        os.killpg(dut._proc.pid, 9)
        with pytest.raises(EmulatorError, match="UART closed: qemu-system-arm was killed by signal 9"):
            dut.read_line(5)


def test_qemu_missing(selftest_elf, tmp_path):
    proc = tinyperf("exec", str(selftest_elf("cortex-m4")), env={"PATH": str(tmp_path)})
    assert_one_line_error(proc, "qemu-system-arm not found", "apt-get install qemu-system-arm")


def test_toolchain_missing(tmp_path):
    (tmp_path / "qemu-system-arm").symlink_to(shutil.which("qemu-system-arm"))
    proc = tinyperf("selftest", "--rebuild", "-p", "cortex-m4", env={"PATH": str(tmp_path)})
    assert proc.returncode != 0 and "Traceback" not in proc.err
    assert "arm-none-eabi-gcc not found" in proc.out + proc.err


def test_plugin_fails_to_build(selftest_elf, tmp_path):
    proc = tinyperf("exec", str(selftest_elf("cortex-m4")),
                    env={"TINYPERF_CACHE": str(tmp_path), "CC": shutil.which("false")})
    assert_one_line_error(proc, "building the counting plugin failed")


def test_plugin_fails_to_load(selftest_elf, tmp_path):
    from sim import plugin

    os.environ["TINYPERF_CACHE"] = str(tmp_path)
    try:
        broken = plugin.cache_dir("plugin") / f"counter-{plugin._source_hash()}.so"
    finally:
        del os.environ["TINYPERF_CACHE"]
    broken.write_bytes(b"not a shared object")
    proc = tinyperf("exec", str(selftest_elf("cortex-m4")), env={"TINYPERF_CACHE": str(tmp_path)})
    assert_one_line_error(proc, "could not load the counting plugin")


def test_exec_json_and_streaming(selftest_elf):
    elf = selftest_elf("cortex-m4")
    proc = tinyperf("exec", str(elf), "--json", input=b"echo hi%loops 10%exit 7%")
    assert proc.returncode == 7
    result = json.loads(proc.out)
    assert {"exit_code", "instructions", "windows", "uart", "wall_s", "platform"} <= result.keys()
    assert result["exit_code"] == 7 and result["platform"] == "cortex-m4"
    assert "echo-[hi]" in result["uart"] and result["instructions"] > 0
    streamed = tinyperf("exec", str(elf), input=b"echo there%exit 0%")
    assert streamed.returncode == 0 and "echo-[there]" in streamed.out
    assert "instructions" in streamed.err


def test_platforms_json():
    proc = tinyperf("platforms", "--json")
    names = [p["name"] for p in json.loads(proc.out)]
    assert proc.returncode == 0 and "cortex-m55" in names
