"""The counting plugin: building it once into the cache, and reading its records.

The plugin (sim/plugin/counter.c) writes one record per line; see the comment
at its top for the format."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from sim.cache import cache_dir
from sim.errors import PluginError, ToolMissingError

SOURCE_DIR = Path(__file__).resolve().parent / "plugin"
SOURCES = ("counter.c", "qemu_plugin_api.h")


def _source_hash() -> str:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update((SOURCE_DIR / name).read_bytes())
    return digest.hexdigest()[:16]


def host_compiler() -> str:
    for cc in (os.environ.get("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc):
            return cc
    raise ToolMissingError("no host C compiler to build the counting plugin: run 'apt-get install gcc'")


def plugin_path() -> Path:
    """The built plugin, compiling it first if this source version is not cached."""
    target = cache_dir("plugin") / f"counter-{_source_hash()}.so"
    if target.is_file():
        return target
    cc = host_compiler()
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".so", delete=False) as tmp:
        partial = Path(tmp.name)
    cmd = [cc, "-O2", "-fPIC", "-shared", "-fvisibility=hidden", "-Wall", "-Wextra", "-Werror",
           "-Wno-unused-parameter", "-o", str(partial), str(SOURCE_DIR / "counter.c")]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        first = (result.stderr.strip().splitlines() or ["no output"])[0]
        raise PluginError(f"building the counting plugin failed: {first}")
    os.replace(partial, target)  # atomic: parallel builders never see half a file
    return target


@dataclass
class CounterLog:
    """Records read so far from a plugin output file."""

    path: Path
    markers: list[tuple[int, int]] = field(default_factory=list)  # (address, count before it)
    total: int | None = None
    blocks: list[tuple[int, int, int]] = field(default_factory=list)  # (vaddr, insns, executions)
    # With profiling: block counts at each marker hit, in hit order (address, blocks).
    snapshots: list[tuple[int, dict[tuple[int, int], int]]] = field(default_factory=list)
    complete: bool = False
    _offset: int = 0
    _snapshot: dict[tuple[int, int], int] | None = None

    def poll(self) -> "CounterLog":
        """Read any whole lines written since the last poll."""
        try:
            with self.path.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return self
        end = data.rfind(b"\n") + 1
        self._offset += end
        for line in data[:end].decode().splitlines():
            self._parse(line.split())
        return self

    def _parse(self, fields: list[str]) -> None:
        kind = fields[0] if fields else ""
        if kind == "M":
            self.markers.append((int(fields[1], 16), int(fields[2])))
        elif kind == "T":
            self.total = int(fields[1])
        elif kind == "B":
            vaddr, n, execs = int(fields[1], 16), int(fields[2]), int(fields[3])
            if self._snapshot is not None:
                self._snapshot[(vaddr, n)] = execs
            else:
                self.blocks.append((vaddr, n, execs))
        elif kind == "S":
            self._snapshot = {}
            self.snapshots.append((int(fields[1], 16), self._snapshot))
        elif kind == "s":
            self._snapshot = None
        elif kind == "E":
            self.complete = True


def block_delta(before: dict[tuple[int, int], int], after: dict[tuple[int, int], int]) -> list[tuple[int, int, int]]:
    """Blocks executed between two snapshots, as (vaddr, insns, executions)."""
    return [(vaddr, n, execs - before.get((vaddr, n), 0))
            for (vaddr, n), execs in sorted(after.items()) if execs > before.get((vaddr, n), 0)]


def windows(markers: list[tuple[int, int]], begin: int, end: int) -> list[int]:
    """Instruction counts of the measurement windows in a marker trace.

    With two markers, a window runs from each `begin` hit to the next `end`
    hit.  With one marker (begin == end, e.g. only th_timestamp), every gap
    between consecutive hits is a window."""
    counts: list[int] = []
    if begin == end:
        hits = [count for addr, count in markers if addr == begin]
        return [b - a for a, b in zip(hits, hits[1:])]
    opened: int | None = None
    for addr, count in markers:
        if addr == begin:
            opened = count
        elif addr == end and opened is not None:
            counts.append(count - opened)
            opened = None
    return counts
