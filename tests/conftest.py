"""Shared fixtures: firmware builds (cached under .cache/) and tiny assembly ELFs."""
import shutil
import subprocess
from pathlib import Path

import pytest

from harness.build import build_image
from platforms import catalog, get_platform

# -- firmware builds and emulator fixtures ----------------------------------

ALL_PLATFORMS = list(catalog())
# The platforms with firmware of their own (boards run their core's prebuilt ELFs).
FIRMWARE_PLATFORMS = [name for name, p in catalog().items() if not p.prebuilt_from]

needs_toolchain = pytest.mark.skipif(
    shutil.which("arm-none-eabi-gcc") is None or shutil.which("qemu-system-arm") is None,
    reason="needs arm-none-eabi-gcc and qemu-system-arm (run ci/setup)",
)


@pytest.fixture(scope="session")
def selftest_elf():
    """Path of the self-test firmware for a platform, built from source (cached)."""
    built: dict[str, Path] = {}

    def get(platform: str) -> Path:
        if platform not in built:
            built[platform] = build_image(get_platform(platform), app="selftest")
        return built[platform]

    return get


@pytest.fixture
def asm_elf(tmp_path):
    """Assemble a Thumb snippet into an ELF with a vector table at `base`.

    The snippet starts at label `reset`; the table holds only SP and reset,
    so any fault locks the core up (no handler)."""

    def make(body: str, base: int = 0, cpu: str = "cortex-m4", sp: int = 0x20010000, name: str = "t") -> Path:
        src = tmp_path / f"{name}.S"
        src.write_text(f"""
    .syntax unified
    .thumb
    .text
    .word 0x{sp:08x}
    .word reset + 1
    .word 0
    .word 0
    .global reset
    .thumb_func
    .type reset, %function
reset:
{body}
    .size reset, . - reset
""")
        elf = tmp_path / f"{name}.elf"
        subprocess.run(["arm-none-eabi-gcc", f"-mcpu={cpu}", "-mthumb", "-nostdlib", f"-Ttext=0x{base:x}",
                        "-e", "reset", "-o", str(elf), str(src)], check=True)
        return elf

    return make


SEMIHOST_EXIT = """
    ldr r1, =exit_block
    movs r0, #0x20
    bkpt 0xab
    .align 2
exit_block: .word 0x20026, {code}
"""


@pytest.fixture(scope="session")
def port_example():
    """The port kit's C++ stand-in submission (firmware/port_example) built for a
    platform against the kit `tinyperf port` writes; outputs=True opts in to outputs%."""
    import fcntl
    import sys

    from harness.port import write_kit
    from sim.cache import cache_dir

    built: dict[tuple[str, str, bool], Path] = {}

    def get(platform: str, bench: str = "kws", outputs: bool = False) -> Path:
        key = (platform, bench, outputs)
        if key not in built:
            root = cache_dir("port-example", f"{platform}-{bench}{'-outputs' if outputs else ''}")
            with (root / ".lock").open("w") as lock:  # pytest-xdist workers build one example in turn
                fcntl.flock(lock, fcntl.LOCK_EX)
                write_kit(get_platform(platform), root / "kit")
                example = Path(__file__).resolve().parent.parent / "firmware" / "port_example"
                result = subprocess.run(["make", "-s", "-C", str(example), f"PORT={root / 'kit'}", f"BENCH={bench}",
                                         f"BUILD={root / 'build'}", f"OUTPUTS={1 if outputs else 0}",
                                         f"PYTHON={sys.executable}"], capture_output=True, text=True)
                assert result.returncode == 0, f"port example build failed: {result.stderr[-2000:]}"
            built[key] = root / "build" / f"{bench}.elf"
        return built[key]

    return get
