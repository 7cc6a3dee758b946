"""Firmware ELF checks and symbol lookup (pyelftools)."""
from __future__ import annotations

import bisect
import errno
import stat
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile

from platforms import Platform
from sim.demangle import base_name, demangle_all
from sim.errors import ElfError

EM_ARM = "EM_ARM"


@dataclass(frozen=True)
class Segment:
    vaddr: int
    paddr: int
    filesz: int
    memsz: int


@dataclass(frozen=True)
class Symbol:
    name: str
    addr: int  # Thumb bit cleared
    size: int
    is_function: bool = False


class FirmwareImage:
    """A checked firmware ELF: loadable segments and function symbols."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._check_file()
        try:
            with self.path.open("rb") as stream:
                elf = ELFFile(stream)
                self._check_header(elf)
                self.entry = elf.header["e_entry"] & ~1
                self.segments = tuple(
                    Segment(s["p_vaddr"], s["p_paddr"], s["p_filesz"], s["p_memsz"])
                    for s in elf.iter_segments()
                    if s["p_type"] == "PT_LOAD" and s["p_memsz"] > 0
                )
                self.symbols = self._read_symbols(elf)
        except ELFError as err:
            raise ElfError(f"{self.path}: not an ELF file ({err}); pass a firmware .elf") from None
        except OSError as err:
            raise ElfError(f"{self.path}: cannot read: {err.strerror}") from None
        self._by_addr = sorted((s for s in self.symbols.values() if s.size), key=lambda s: s.addr)
        self._addrs = [s.addr for s in self._by_addr]

    def _check_file(self) -> None:
        """A regular file, or an error saying what the path is instead (reading a
        FIFO or device as an ELF would block or read forever)."""
        try:
            mode = self.path.stat().st_mode
        except OSError as err:
            if err.errno == errno.ELOOP:
                raise ElfError(f"{self.path}: a symlink loop, not a firmware file") from None
            if err.errno in (errno.ENOENT, errno.ENOTDIR):
                raise ElfError(f"{self.path}: no such firmware file") from None
            raise ElfError(f"{self.path}: cannot read: {err.strerror}") from None
        if stat.S_ISDIR(mode):
            raise ElfError(f"{self.path}: a folder, not a firmware file; pass the .elf inside it")
        if not stat.S_ISREG(mode):
            raise ElfError(f"{self.path}: not a regular file (a device, FIFO or socket); pass a firmware .elf")

    def _check_header(self, elf: ELFFile) -> None:
        if elf.elfclass != 32:
            raise ElfError(f"{self.path}: 64-bit ELF; tinyperf runs 32-bit Arm Cortex-M firmware")
        if elf.header["e_machine"] != EM_ARM:
            raise ElfError(
                f"{self.path}: ELF for {elf.header['e_machine']}, not Arm; build it with arm-none-eabi-gcc"
            )

    @staticmethod
    def _read_symbols(elf: ELFFile) -> dict[str, Symbol]:
        table = elf.get_section_by_name(".symtab")
        symbols: dict[str, Symbol] = {}
        if table is None:
            return symbols
        for sym in table.iter_symbols():
            if sym.name and sym["st_info"]["type"] in ("STT_FUNC", "STT_OBJECT", "STT_NOTYPE"):
                symbols.setdefault(sym.name, Symbol(sym.name, sym["st_value"] & ~1, sym["st_size"],
                                                    sym["st_info"]["type"] == "STT_FUNC"))
        return symbols

    def check_fits(self, platform: Platform) -> None:
        """Every loadable segment must lie inside one of the platform's memory regions."""
        for seg in self.segments:
            # Initialised data is loaded at its physical (flash) address and
            # copied at run time to its virtual (RAM) address: check both.
            spans = {(seg.paddr, seg.filesz), (seg.vaddr, seg.memsz)}
            for start, length in spans:
                if length and not any(r.contains(start, length) for r in platform.regions):
                    regions = ", ".join(f"{r.name} 0x{r.base:08x}-0x{r.end - 1:08x}" for r in platform.regions)
                    raise ElfError(
                        f"{self.path}: segment 0x{start:08x}-0x{start + length - 1:08x} lies outside "
                        f"{platform.name}'s memory ({regions}); link it for this platform or pick another"
                    )

    def memory_use(self, platform: Platform) -> tuple[int, int]:
        """(flash, RAM) bytes the image occupies: loaded bytes in flash, and
        data + bss in RAM (the stack is not counted)."""
        flash = sum(s.filesz for s in self.segments if platform.flash.contains(s.paddr, s.filesz))
        ram = sum(s.memsz for s in self.segments if platform.ram.contains(s.vaddr, s.memsz))
        return flash, ram

    def address(self, name: str) -> int | None:
        """Address of a symbol by its ELF name or, for C++ functions, by its
        demangled name without parameters (`th_timestamp` finds
        `_Z12th_timestampv`) when exactly one function has that name."""
        sym = self.symbols.get(name) or self._by_base_name.get(name)
        return sym.addr if sym else None

    @cached_property
    def demangled(self) -> dict[str, str]:
        """{ELF name: demangled name} for the C++ symbols (one c++filt run per image)."""
        return demangle_all(self.symbols)

    def display_name(self, name: str) -> str:
        """The name a person reads: demangled for C++ symbols."""
        return self.demangled.get(name, name)

    @cached_property
    def _by_base_name(self) -> dict[str, Symbol]:
        found: dict[str, list[Symbol]] = {}
        for raw, pretty in self.demangled.items():
            found.setdefault(base_name(pretty), []).append(self.symbols[raw])
        return {name: syms[0] for name, syms in found.items() if len({s.addr for s in syms}) == 1}

    def functions(self) -> list[Symbol]:
        """Sized function symbols in address order."""
        return [s for s in self._by_addr if s.is_function]

    def read(self, addr: int, size: int) -> bytes:
        """Bytes of the loaded image at [addr, addr + size) (b'' if not in one segment)."""
        for vaddr, data in self._loaded:
            if vaddr <= addr and addr + size <= vaddr + len(data):
                return data[addr - vaddr:addr - vaddr + size]
        return b""

    @cached_property
    def _loaded(self) -> list[tuple[int, bytes]]:
        with self.path.open("rb") as stream:
            return [(seg["p_vaddr"], seg.data()) for seg in ELFFile(stream).iter_segments()
                    if seg["p_type"] == "PT_LOAD" and seg["p_filesz"]]

    def symbol_at(self, addr: int) -> str | None:
        """Name of the sized symbol that contains addr, as 'name+0xoff'."""
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i >= 0:
            sym = self._by_addr[i]
            if addr < sym.addr + sym.size:
                name = self.display_name(sym.name)
                return name if addr == sym.addr else f"{name}+0x{addr - sym.addr:x}"
        return None
