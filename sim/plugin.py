"""The counting plugin: building it once into the cache, and reading its records.

The plugin (sim/plugin/counter.c) writes one record per line; see the comment
at its top for the format."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

from sim.cache import cache_dir
from sim.errors import PluginError, SimError, ToolMissingError

SOURCE_DIR = Path(__file__).resolve().parent / "plugin"
MAX_MARKERS = 64  # MAX_MARKERS in plugin/counter.c: marker addresses one run can record
SOURCES = ("counter.c", "memsim.c", "memsim.h", "qemu_plugin_api.h")


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
           "-Wno-unused-parameter", "-o", str(partial), str(SOURCE_DIR / "counter.c"), str(SOURCE_DIR / "memsim.c")]
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
    # Memory-aware runs: the memory counters at each marker hit (parallel to
    # markers) and at exit (sim.memory.MemoryCounts.from_record reads them).
    memory: list[list[int]] = field(default_factory=list)
    memory_total: list[int] | None = None
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
        elif kind == "C":
            values = [int(v) for v in fields[1:]]
            if self.total is None:
                self.memory.append(values)
            else:
                self.memory_total = values
        elif kind == "E":
            self.complete = True


Block = tuple[int, int]  # (vaddr, n_insns)


class PluginRecordError(SimError):
    """The counter records do not hold what was asked of them."""


@dataclass
class Segment:
    marker: int  # address of the marker hit that opens the segment
    instructions: int  # exact, from the marker counts
    blocks: dict[Block, int]  # executions inside the segment

    @property
    def block_instructions(self) -> int:
        return sum(n * execs for (_v, n), execs in self.blocks.items())


def _entered(addr: int, before: dict[Block, int], after: dict[Block, int]) -> Block | None:
    """The block that starts at marker `addr` and ran between two snapshots (the marker's own block)."""
    grown = [key for key, execs in after.items() if key[0] == addr and execs > before.get(key, 0)]
    return max(grown, key=lambda k: after[k] - before.get(k, 0)) if grown else None


def segments(hits: list[tuple[int, int, dict[Block, int]]], first: int, last: int) -> tuple[list[Segment], list[str]]:
    """Cut the marker hits first..last into segments (see the module docstring).

    hits: (marker address, instruction count before it, cumulative block snapshot) in hit order.
    Returns the segments and notes about inexact edges."""
    notes: list[str] = []
    edges: list[Block | None] = []
    for k in range(first, last + 1):
        before = hits[k - 1][2] if k > 0 else {}
        edge = _entered(hits[k][0], before, hits[k][2])
        if edge is None:
            notes.append(f"marker 0x{hits[k][0]:x} is not at a block start: its segment edges are "
                         "approximate by up to one block")
        edges.append(edge)
    out: list[Segment] = []
    for k in range(first, last):
        (addr, count, before), (_, next_count, after) = hits[k], hits[k + 1]
        blocks = {key: execs - before.get(key, 0) for key, execs in after.items() if execs > before.get(key, 0)}
        own, following = edges[k - first], edges[k + 1 - first]
        if own is not None:
            blocks[own] = blocks.get(own, 0) + 1
        if following is not None:
            blocks[following] -= 1
            if blocks[following] == 0:
                del blocks[following]
        out.append(Segment(addr, next_count - count, blocks))
    return out, notes


Addresses = int | Collection[int]  # one marker address, or any of several (e.g. every return site of a call)


def _set(addresses: Addresses) -> frozenset[int]:
    return frozenset((addresses,)) if isinstance(addresses, int) else frozenset(addresses)


def window_hits(markers: list[tuple[int, int]], snapshots: list[tuple[int, dict]],
                begin: Addresses, end: Addresses) -> tuple[list[tuple[int, int, dict]], int, int]:
    """The hits and the (first, last) indices of the last measurement window."""
    if len(markers) != len(snapshots):
        raise PluginRecordError(f"counter log has {len(markers)} marker hits but {len(snapshots)} block snapshots")
    begin, end = _set(begin), _set(end)
    hits = [(addr, count, snap) for (addr, count), (_s, snap) in zip(markers, snapshots)]
    last = next((i for i in range(len(hits) - 1, -1, -1) if hits[i][0] in end), None)
    first = None
    if last:  # the first begin hit after the end hit before `last` (see windows())
        previous_end = next((i for i in range(last - 1, -1, -1) if hits[i][0] in end), -1)
        first = next((i for i in range(previous_end + 1, last) if hits[i][0] in begin), None)
    if last is None or first is None:
        raise PluginRecordError("no complete measurement window in the counter log")
    return hits, first, last


def window_blocks(log: CounterLog, begin: Addresses, end: Addresses) -> list[tuple[int, int, int]] | None:
    """Exact per-block executions of the last begin..end window (with profile=on),
    as (vaddr, insns, executions); None when the log has no such window."""
    try:
        hits, first, last = window_hits(log.markers, log.snapshots, begin, end)
    except PluginRecordError:
        return None
    total: dict[Block, int] = {}
    for segment in segments(hits, first, last)[0]:
        for key, execs in segment.blocks.items():
            total[key] = total.get(key, 0) + execs
    return [(vaddr, n, execs) for (vaddr, n), execs in sorted(total.items()) if execs]


def window_memory(log: CounterLog, begin: Addresses, end: Addresses) -> list[int] | None:
    """Memory counters of the last begin..end window (memory-aware runs with
    profile=on), as the difference of the counter records at its two ends;
    None when the log has none."""
    if not log.memory or len(log.memory) != len(log.markers):
        return None
    try:
        _hits, first, last = window_hits(log.markers, log.snapshots, begin, end)
    except PluginRecordError:
        return None
    return [b - a for a, b in zip(log.memory[first], log.memory[last])]


def windows(markers: list[tuple[int, int]], begin: Addresses, end: Addresses) -> list[int]:
    """Instruction counts of the measurement windows in a marker trace.

    A window runs from the first `begin` hit after an `end` hit (or the start)
    to the next `end` hit: `begin` hits inside an open window do not restart
    it, because a begin site may also be a branch target inside the window
    (the return site of `bl th_timestamp` can be the head of the th_infer loop
    when th_pre is inlined).  When begin and end are the same marker, every gap
    between consecutive hits is a window."""
    counts: list[int] = []
    begin, end = _set(begin), _set(end)
    if begin == end:
        hits = [count for addr, count in markers if addr in begin]
        return [b - a for a, b in zip(hits, hits[1:])]
    opened: int | None = None
    for addr, count in markers:
        if addr in end and opened is not None:
            counts.append(count - opened)
            opened = None
        elif addr in begin and opened is None:
            opened = count
    return counts
