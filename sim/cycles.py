"""Cycle estimates from per-block execution counts.

The counting plugin with profile=on reports every translation block that ran
as (vaddr, n_insns, execs).  This module decodes each block's instructions
once (capstone, Thumb/M-class), classifies them, times the block on an
in-order pipeline model of the core (tables in sim.cost_tables) and sums
cycles x executions.  Nothing runs per executed instruction.

The timing of one block (`time_block`) walks its instructions in order:

* every instruction has an issue cost from the core's table (class, or the
  register count for LDM/STM/PUSH/POP/VLDM);
* M3/M4: a load or store right after a load single whose result it does not
  use for its address costs one cycle less (TRM pipelining); IT after a
  16-bit non-branch instruction folds (0 cycles);
* M33/M55: a load's result is ready 2 cycles after it issues: an instruction
  that uses it straight away waits one cycle (load-to-use 2);
* M7: in-order dual issue, approximated as: an instruction issues in the same
  cycle as the one before it when both cost one cycle, the first is not a
  branch, it does not read or write a register (or the flags) the first
  writes, and the two do not both need the load/store unit, the multiplier
  or the FPU.  A multiply's (MUL/MLA/long/DSP MAC) result is ready one cycle
  late (MAC result latency +1).  Register readiness does not carry across
  blocks.

Branches.  A branch ends its block, and its cost is split in two: the issue
cycles (paid on every execution) and the extra cycles when it is taken (the
pipeline refill P, or nothing for a predicted branch on the M7).  The counts
say how often each block ran, not which way each branch went, so the taken
count of a conditional branch is derived from block entries: QEMU starts a
block at an address only when control arrives there other than by falling
through inside a block, so the blocks starting at the branch's fall-through
address ran at least as often as the branch fell through, and the blocks
starting at its target at least as often as it was taken.  Hence
  taken <= min(execs, E(target))  and  taken >= execs - E(fall-through),
where E(a) is the summed executions of the blocks starting at a and execs
the summed executions of the blocks ending with this branch.  The two bounds
meet in the usual cases (a loop back edge, an if that skips a body, where
each of the two addresses is entered only from this branch) and then the
split is exact; otherwise we take the proportional split
execs * E(target) / (E(target) + E(fall-through)) clamped into the bounds.
A conditional branch with no static target (BXEQ LR, POPNE {..,PC}, WLS)
uses the lower bound alone: not taken = min(execs, E(fall-through)).
Unconditional branches are always taken.  On the M7 a conditional branch
mispredicts min(taken, not taken) times (a predictor that learns the
majority direction misses the minority), 8 cycles each.

Memory.  The core tables assume zero-wait memory; the result is the
compute cycles.  On a platform with memory timing (platforms.memory) a
memory-aware run also carries the plugin's memory counters (sim.memory), and
the estimate adds their stall cycles (flash data reads and fetches that miss
the read buffers, prefetch and caches; cache line fills) on top.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from platforms.memory import ZERO_WAIT, MemoryTiming
from sim.cost_tables import MODEL_VERSION, CoreTable, core_table
from sim.errors import SimError, ToolMissingError
from sim.memory import MemoryCounts, stall_cycles

try:  # pragma: no cover - import guard
    import capstone as _cs
    from capstone import arm as _csarm
except ImportError:  # pragma: no cover
    _cs = None
    _csarm = None

LOADS = frozenset({"load", "ldrd", "ldm", "fp_load", "fp_ldm"})
MEMORY = frozenset({"load", "store", "ldrd", "strd", "ldm", "stm", "fp_load", "fp_store", "fp_ldm", "mve_mem"})
MACS = frozenset({"mul", "mla", "mull", "mlal", "dsp_mac"})
FPU = frozenset({"fp", "fp_mac", "fp_div", "fp_mov", "fp_load", "fp_store", "fp_ldm"})
CONDITIONAL_KINDS = frozenset({"bcc", "cbz"})


# -- decoded instructions ------------------------------------------------------
@dataclass(frozen=True)
class Insn:
    addr: int
    size: int
    text: str  # disassembly, for reports and debugging
    cls: str  # timing class (see sim.cost_tables)
    branch: str | None = None  # branch kind, or None
    target: int | None = None  # static branch target
    cond: bool = False  # conditional (B<cc>, CBZ, or inside an IT block)
    reads: frozenset[str] = frozenset()
    writes: frozenset[str] = frozenset()
    addr_regs: frozenset[str] = frozenset()  # registers forming a load/store address
    writeback: frozenset[str] = frozenset()  # base registers written back (not load results)
    nregs: int = 0  # registers (or FP words) moved by a multiple load/store


_CC = ("eq", "ne", "cs", "hs", "cc", "lo", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al")

_ALU = {
    "mov", "mvn", "add", "adc", "sub", "sbc", "rsb", "and", "orr", "orn", "eor", "bic", "lsl", "lsr", "asr",
    "ror", "rrx", "cmp", "cmn", "tst", "teq", "neg", "adr", "movw", "movt", "addw", "subw", "ubfx", "sbfx",
    "bfi", "bfc", "clz", "rbit", "rev", "rev16", "revsh", "sxtb", "sxth", "uxtb", "uxth", "ssat", "usat",
    "nop", "yield", "cpy", "csel", "csinc", "csinv", "csneg", "cset", "csetm", "cinc", "cinv", "cneg",
    "sqrshr", "sqshl", "srshr", "uqrshl", "uqshl", "urshr", "asrl", "lsll", "lsrl",
}
_DSP = {
    "sxtab", "sxtah", "uxtab", "uxtah", "sxtb16", "uxtb16", "sxtab16", "uxtab16", "sel", "pkhbt", "pkhtb",
    "ssat16", "usat16", "qadd", "qsub", "qdadd", "qdsub", "usad8", "clrex",
}
for _p in ("s", "q", "sh", "u", "uq", "uh"):
    for _op in ("add16", "add8", "sub16", "sub8", "asx", "sax"):
        _DSP.add(_p + _op)
_DSP_MAC = {
    "smlad", "smladx", "smlsd", "smlsdx", "smuad", "smuadx", "smusd", "smusdx", "smlawb", "smlawt", "smulwb",
    "smulwt", "smmul", "smmulr", "smmla", "smmlar", "smmls", "smmlsr", "smlald", "smlaldx", "smlsld",
    "smlsldx", "usada8",
}
for _x in ("bb", "bt", "tb", "tt"):
    _DSP_MAC |= {"smla" + _x, "smul" + _x, "smlal" + _x}
_MNEMONIC_CLASS = {
    **{m: "alu" for m in _ALU}, **{m: "dsp" for m in _DSP}, **{m: "dsp_mac" for m in _DSP_MAC},
    "mul": "mul", "mla": "mla", "mls": "mla", "smull": "mull", "umull": "mull",
    "smlal": "mlal", "umlal": "mlal", "umaal": "mlal", "sdiv": "div", "udiv": "div",
    "ldrd": "ldrd", "strd": "strd", "ldaexd": "ldrd", "ldrexd": "ldrd", "strexd": "strd",
    "ldm": "ldm", "ldmia": "ldm", "ldmfd": "ldm", "ldmdb": "ldm", "ldmea": "ldm", "pop": "ldm",
    "stm": "stm", "stmia": "stm", "stmea": "stm", "stmdb": "stm", "stmfd": "stm", "push": "stm",
    "mrs": "sys", "msr": "sys", "cpsid": "sys", "cpsie": "sys", "dmb": "sys", "dsb": "sys", "isb": "sys",
    "svc": "sys", "bkpt": "sys", "wfi": "sys", "wfe": "sys", "sev": "sys", "udf": "sys", "tt": "sys",
    "ttt": "sys", "tta": "sys", "ttat": "sys", "sg": "sys", "csdb": "sys", "pld": "load", "pli": "load",
    "vadd": "fp", "vsub": "fp", "vmul": "fp", "vnmul": "fp", "vabs": "fp", "vneg": "fp", "vcmp": "fp",
    "vcmpe": "fp", "vmrs": "fp", "vmsr": "fp", "vmaxnm": "fp", "vminnm": "fp", "vmov": "fp",
    "vfma": "fp_mac", "vfms": "fp_mac", "vfnma": "fp_mac", "vfnms": "fp_mac", "vmla": "fp_mac",
    "vmls": "fp_mac", "vnmla": "fp_mac", "vnmls": "fp_mac", "vdiv": "fp_div", "vsqrt": "fp_div",
    "vldr": "fp_load", "vstr": "fp_store", "vldmia": "fp_ldm", "vldmdb": "fp_ldm", "vstmia": "fp_ldm",
    "vstmdb": "fp_ldm", "vldm": "fp_ldm", "vstm": "fp_ldm", "vpush": "fp_ldm", "vpop": "fp_ldm",
    "vscclrm": "fp_ldm", "vlldm": "fp_ldm", "vlstm": "fp_ldm",
}
_LOAD_PREFIXES = ("ldr", "lda")
_STORE_PREFIXES = ("str", "stl")
_CORE_REGS = {f"r{i}" for i in range(13)} | {"sp", "lr", "ip", "fp", "sb", "sl", "apsr", "apsr_nzcv"}


def _expand_reg(name: str) -> tuple[str, ...]:
    """Registers as scoreboard names: D/Q registers as their S halves."""
    if name in ("pc", "itstate", ""):
        return ()
    if name in ("cpsr", "apsr", "apsr_nzcv"):
        return ("flags",)
    if name[0] == "d" and name[1:].isdigit():
        n = int(name[1:])
        return (f"s{2 * n}", f"s{2 * n + 1}")
    if name[0] == "q" and name[1:].isdigit():
        n = int(name[1:])
        return tuple(f"s{4 * n + k}" for k in range(4))
    return ({"ip": "r12", "fp": "r11", "sb": "r9", "sl": "r10"}.get(name, name),)


def _regs(insn, ids) -> frozenset[str]:
    out: set[str] = set()
    for r in ids:
        out.update(_expand_reg(insn.reg_name(r) or ""))
    return frozenset(out)


def _base_mnemonic(mnemonic: str, strip_cc: bool) -> str:
    m = mnemonic.lower().split(".")[0]
    if strip_cc and len(m) > 2 and m[-2:] in _CC and m[:-2]:
        m = m[:-2]
    return m


def _is_32bit(hw1: int) -> bool:
    return (hw1 >> 11) in (0b11101, 0b11110, 0b11111)


def _raw_mve(addr: int, raw: bytes) -> Insn | None:
    """Armv8.1-M encodings capstone 5 does not decode: Helium (MVE) and the
    low-overhead-branch instructions (Armv8.1-M ARM encoding tables)."""
    if len(raw) < 4:
        return None
    hw1 = int.from_bytes(raw[0:2], "little")
    hw2 = int.from_bytes(raw[2:4], "little")
    text = f".inst 0x{hw1:04x}{hw2:04x}"
    # Loop instructions: 11110 0000 0xxx Rn | 11x0 .... .... ...1
    if (hw1 & 0xFF80) == 0xF000 and (hw2 & 0xD001) == 0xC001:
        if hw2 == 0xE801:  # VCTP
            return Insn(addr, 4, text + " (vctp)", "mve")
        if hw2 == 0xE001:  # DLS, DLSTP, LCTP
            return Insn(addr, 4, text + " (dls/lctp)", "lob", writes=frozenset({"lr"}))
        if (hw1 & 0xFFCF) == 0xF00F:  # LE, LETP, LE (no LR)
            return Insn(addr, 4, text + " (le)", "branch", branch="le", reads=frozenset({"lr"}),
                        writes=frozenset({"lr"}))
        return Insn(addr, 4, text + " (wls)", "lob", branch="bcc", cond=True, writes=frozenset({"lr"}))
    top = hw1 >> 8
    if top in (0xEF, 0xFF):  # vector data processing (Advanced SIMD space in A-profile)
        return Insn(addr, 4, text, "mve")
    if (hw1 & 0xEC00) == 0xEC00 and ((hw2 >> 8) & 0xF) not in (10, 11):  # coprocessor space, not FP
        return Insn(addr, 4, text, "mve_mem" if (hw1 & 0xEE00) == 0xEC00 else "mve")
    return None


class Decoder:
    """Decodes blocks of a firmware image once each (cached per (vaddr, n))."""

    def __init__(self, firmware, table: CoreTable):
        if _cs is None:
            raise ToolMissingError("the cycle model needs capstone: run 'pip install capstone' (or ci/setup)")
        self.table = table
        self.memory = CodeMemory(firmware)
        self.md = _cs.Cs(_cs.CS_ARCH_ARM, _cs.CS_MODE_THUMB | _cs.CS_MODE_MCLASS | _cs.CS_MODE_V8)
        self.md.detail = True
        self._cache: dict[tuple[int, int], tuple[Insn, ...] | None] = {}

    def block(self, vaddr: int, n: int) -> tuple[Insn, ...] | None:
        """The n instructions at vaddr, or None if the bytes are not in the image."""
        key = (vaddr, n)
        if key not in self._cache:
            self._cache[key] = self._decode(vaddr, n)
        return self._cache[key]

    def _decode(self, vaddr: int, n: int) -> tuple[Insn, ...] | None:
        code = self.memory.read(vaddr, 4 * n)
        out: list[Insn] = []
        off = 0
        it_left = 0
        for _ in range(n):
            if off + 2 > len(code):
                return None
            hw1 = int.from_bytes(code[off:off + 2], "little")
            size = 4 if _is_32bit(hw1) else 2
            raw = code[off:off + size]
            if len(raw) < size:
                return None
            in_it = it_left > 0
            insn = self._one(vaddr + off, raw, in_it)
            if in_it:
                it_left -= 1
            if insn.cls == "it":
                it_left = max(1, len(insn.text.split()[0]) - 1)
            out.append(insn)
            off += size
        return tuple(out)

    def _one(self, addr: int, raw: bytes, in_it: bool) -> Insn:
        if self.table.has_mve:
            special = _raw_mve(addr, raw)
            if special is not None:
                return special
        found = list(self.md.disasm(raw, addr, 1))
        if not found:
            return Insn(addr, len(raw), f".inst {raw.hex()}", "other")
        return classify(found[0], in_it, self.table.has_mve)


def classify(insn, in_it: bool = False, mve: bool = False) -> Insn:
    """Timing class, branch kind and registers of one capstone instruction."""
    cs_cond = insn.cc not in (_csarm.ARM_CC_AL, getattr(_csarm, "ARM_CC_INVALID", 0))
    cond = cs_cond or in_it
    m = _base_mnemonic(insn.mnemonic, cs_cond)
    text = f"{insn.mnemonic} {insn.op_str}".strip()
    read_ids, write_ids = insn.regs_access()
    reads = set(_regs(insn, read_ids))
    writes = set(_regs(insn, write_ids))
    narrow = insn.size == 2
    writes_pc = any(insn.reg_name(r) == "pc" for r in write_ids)
    if insn.update_flags and not (in_it and narrow):
        writes.add("flags")
    elif in_it and narrow:
        writes.discard("flags")
    if cond:
        reads.add("flags")
    ops = list(insn.operands)
    reg_ops = [insn.reg_name(o.reg) for o in ops if o.type == _csarm.ARM_OP_REG]
    mems = [o.mem for o in ops if o.type == _csarm.ARM_OP_MEM]
    addr_regs = frozenset(
        r for mem in mems for rid in (mem.base, mem.index) if rid for r in _expand_reg(insn.reg_name(rid))
    )
    writeback = frozenset(
        r for mem in mems if insn.writeback and mem.base for r in _expand_reg(insn.reg_name(mem.base)))
    kw = dict(cond=cond, reads=frozenset(reads), writes=frozenset(writes), addr_regs=addr_regs,
              writeback=writeback)

    def make(cls: str, **extra) -> Insn:
        return Insn(insn.address, insn.size, text, cls, **{**kw, **extra})

    # Branches
    if m in ("b", "bl"):
        target = ops[0].imm if ops and ops[0].type == _csarm.ARM_OP_IMM else None
        kind = "bl" if m == "bl" else ("bcc" if cond else "b")
        return make("branch", branch=kind, target=target)
    if m in ("cbz", "cbnz"):
        target = ops[-1].imm if ops and ops[-1].type == _csarm.ARM_OP_IMM else None
        return make("branch", branch="cbz", target=target, cond=True)
    if m in ("bx", "bxns", "blx", "blxns"):
        if m.startswith("blx"):
            return make("branch", branch="blx")
        return make("branch", branch="ret" if reg_ops[:1] == ["lr"] else "bx")
    if m in ("tbb", "tbh"):
        return make("branch", branch="tbb")
    if m.startswith("it") and set(m[1:]) <= {"t", "e"}:
        return make("it")

    cls = _MNEMONIC_CLASS.get(m)
    if cls is None and m.endswith("s") and _MNEMONIC_CLASS.get(m[:-1]) in ("alu", "mul", "mla"):
        cls = _MNEMONIC_CLASS[m[:-1]]
    if cls is None:
        if m.startswith(_LOAD_PREFIXES):
            cls = "load"
        elif m.startswith(_STORE_PREFIXES):
            cls = "store"
    if mve and m.startswith("v") and any(r.startswith("q") for r in reg_ops):
        cls = "mve_mem" if mems else "mve"
    elif mve and m in ("ldc", "ldc2", "stc", "stc2", "cdp", "cdp2", "mcr", "mrc", "mcrr", "mrrc", "ldcl", "stcl"):
        cls = "mve_mem" if mems else "mve"
    if cls is None and m.startswith(("vcvt", "vrint", "vsel", "vmax", "vmin")):
        cls = "fp"  # VCVT*/VRINT*/VSEL*/VMAXNM/VMINNM: FPU 1
    if cls is None:
        cls = "other"

    if cls == "fp" and m == "vmov" and any(r in _CORE_REGS for r in reg_ops):
        cls = "fp_mov"
    if cls in ("ldm", "stm"):
        stack = m in ("push", "pop")
        n = len(reg_ops) - (0 if stack else 1)
        base = frozenset(_expand_reg("sp" if stack else reg_ops[0])) if reg_ops or stack else frozenset()
        wb = base if (stack or insn.writeback) else frozenset()
        if writes_pc:
            return make("ldm", branch="pop_pc", nregs=n, addr_regs=base, writeback=wb)
        return make(cls, nregs=n, addr_regs=base, writeback=wb)
    if cls == "fp_ldm":
        words = sum(len(_expand_reg(r)) for r in reg_ops if r[0] in "sd" and r[1:].isdigit())
        return make(cls, nregs=words)
    if cls == "load" and writes_pc:
        return make("load", branch="ldr_pc")
    if writes_pc:  # MOV PC, Rm / ADD PC, Rm
        return make(cls, branch="ret" if reads == {"lr"} else "bx")
    return make(cls)


# -- code bytes ------------------------------------------------------------------
class CodeMemory:
    """Bytes of an ELF's loadable segments, by run-time (virtual) address."""

    def __init__(self, firmware):
        path = Path(getattr(firmware, "path", firmware))
        from elftools.elf.elffile import ELFFile

        self.segments: list[tuple[int, bytes]] = []
        with path.open("rb") as stream:
            elf = ELFFile(stream)
            for seg in elf.iter_segments():
                if seg["p_type"] == "PT_LOAD" and seg["p_filesz"] > 0:
                    self.segments.append((seg["p_vaddr"], seg.data()))
                    if seg["p_paddr"] != seg["p_vaddr"]:
                        self.segments.append((seg["p_paddr"], seg.data()))

    def read(self, addr: int, size: int) -> bytes:
        for base, data in self.segments:
            if base <= addr < base + len(data):
                return data[addr - base: addr - base + size]
        return b""


# -- timing ---------------------------------------------------------------------------
class BlockTiming(NamedTuple):
    cycles: float  # per execution, branch not taken, no wait states
    by_class: dict[str, float]  # the same cycles by instruction class
    by_class_insns: dict[str, int]
    branch: Insn | None  # the block's final branch, if it ends in one
    taken_extra: int  # extra cycles when that branch is taken


def issue_cost(insn: Insn, t: CoreTable) -> int:
    if insn.branch == "pop_pc":
        return t.multiple(insn.nregs) + t.branches["pop_pc"][0]
    if insn.branch == "ldr_pc":
        return t.branches["ldr_pc"][0]
    if insn.branch is not None and insn.cls == "branch":
        return t.branches[insn.branch][0]
    if insn.branch in ("bx", "ret"):  # MOV/ADD to PC
        return t.branches[insn.branch][0]
    if insn.cls in ("ldm", "stm", "fp_ldm"):
        return t.multiple(insn.nregs)
    return t.costs.get(insn.cls, t.costs["other"])


def _can_pair(a: Insn, b: Insn) -> bool:
    if a.branch is not None or a.writes & b.writes:
        return False
    for unit in (MEMORY, MACS, FPU):
        if a.cls in unit and b.cls in unit:
            return False
    return a.cls not in ("sys", "div") and b.cls not in ("sys", "div")


def time_block(insns: tuple[Insn, ...], t: CoreTable) -> BlockTiming:
    ready: dict[str, int] = {}
    cycle = 0  # first cycle the next instruction could issue in
    last: tuple[int, Insn, int, bool] | None = None  # (issue cycle, insn, cost, paired)
    prev: Insn | None = None
    by_class: dict[str, float] = defaultdict(float)
    by_insns: dict[str, int] = defaultdict(int)
    for insn in insns:
        cost = issue_cost(insn, t)
        if insn.cls == "it" and t.it_folding and prev is not None and prev.size == 2 and prev.branch is None:
            cost = 0  # folded onto the preceding 16-bit instruction
        if (t.load_pipelining and insn.cls in ("load", "store") and insn.branch is None and prev is not None
                and prev.cls == "load" and prev.branch is None
                and not ((prev.writes - prev.writeback) & insn.addr_regs)):
            cost -= 1  # address phase overlaps the previous load's data phase
        ready_at = max((ready.get(r, 0) for r in insn.reads), default=0)
        if (t.issue_width == 2 and last is not None and not last[3] and last[2] == 1 and cost == 1
                and ready_at <= last[0] and _can_pair(last[1], insn)):
            issue, paired, spent = last[0], True, 0
        else:
            issue = max(cycle, ready_at)
            spent = issue + cost - cycle
            cycle = issue + cost
            paired = False
        latency = cost
        if insn.cls in LOADS:
            latency += t.load_use_extra
        if insn.cls in MACS:
            latency += t.mac_latency_extra
        for reg in insn.writes:  # a base register's write-back is ready with the issue cost
            ready[reg] = issue + (cost if reg in insn.writeback else latency)
        by_class[insn.cls] += spent
        by_insns[insn.cls] += 1
        last = (issue, insn, cost, paired)
        prev = insn
    final = insns[-1] if insns and insns[-1].branch is not None else None
    taken_extra = t.branches[final.branch][1] if final is not None else 0
    return BlockTiming(float(cycle), dict(by_class), dict(by_insns), final, taken_extra)


def split_taken(blocks: list[tuple[int, int, int, Insn | None]]) -> dict[int, tuple[int, int]]:
    """Taken counts of the branches ending blocks: {branch address: (taken, executions)}.

    blocks: (vaddr, n_insns, execs, final branch or None).  See the module
    docstring for the method."""
    entries: dict[int, int] = defaultdict(int)
    ending: dict[int, list] = {}
    for vaddr, _n, execs, br in blocks:
        entries[vaddr] += execs
        if br is not None:
            slot = ending.setdefault(br.addr, [br, 0])
            slot[1] += execs
    out: dict[int, tuple[int, int]] = {}
    for addr, (br, execs) in ending.items():
        fall = entries.get(br.addr + br.size, 0)
        if not br.cond:
            taken = execs
        elif br.target is None:
            taken = execs - min(execs, fall)
        else:
            to_target = entries.get(br.target, 0)
            hi = min(execs, to_target)
            lo = max(0, execs - fall)
            if lo == hi:
                taken = lo
            elif lo > hi:  # inconsistent counts (e.g. a fault cut a block short): split the difference
                taken = (lo + hi) // 2
            else:
                taken = min(hi, max(lo, round(execs * to_target / (to_target + fall))))
        out[addr] = (taken, execs)
    return out


# -- public API ----------------------------------------------------------------------------
class BlockCycles(NamedTuple):
    vaddr: int
    n_insns: int
    execs: int
    cycles_per_exec: float


@dataclass(frozen=True)
class CycleEstimate:
    cycles: int  # compute + stall cycles
    instructions: int
    cpi: float
    model: str
    by_class: dict[str, dict[str, float]]  # class -> {"instructions": n, "cycles": c} (compute cycles)
    compute_cycles: int = 0  # the core model at zero wait states
    stall_cycles: dict[str, float] | None = None  # memory stalls by kind; None: memory not counted
    memory: dict | None = None  # access counts per region and cache hits (MemoryCounts.to_dict)


class CycleModel:
    """A core's cycle model bound to one firmware image (decodes cached)."""

    def __init__(self, firmware, core, timing: MemoryTiming | None = None, memory_label: str | None = None):
        """memory_label names the memory timing in the model's name (default: the
        platform's name when `core` is a Platform with memory timing)."""
        core_name = getattr(core, "core", core)
        self.table = core_table(core_name)
        self.memory_timing = timing if timing is not None else getattr(core, "memory_timing", ZERO_WAIT)
        if memory_label is None and self.memory_timing.modelled:
            memory_label = getattr(core, "name", "custom")
        self.decoder = Decoder(firmware, self.table)
        self._timings: dict[tuple[int, int], BlockTiming | None] = {}
        self._joined_cycles: dict[tuple[int, int, int, int], float] = {}
        # Estimates under different memory timing are different models (compare warns)
        self.name = f"tinyperf-cycles/{self.table.name} v{MODEL_VERSION}" + (
            f" + memory of {memory_label}" if memory_label else "")

    def timing(self, vaddr: int, n: int) -> BlockTiming | None:
        key = (vaddr, n)
        if key not in self._timings:
            insns = self.decoder.block(vaddr, n)
            self._timings[key] = time_block(insns, self.table) if insns else None
        return self._timings[key]

    def _fall_through_blocks(self, rows) -> dict[int, list[tuple[int, int, int]]]:
        """Blocks that end without a branch (QEMU cuts a block at a 1 KiB
        page boundary, among other places), by the address they fall into:
        {next address: [(vaddr, n, execs), ...]}."""
        out: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
        for vaddr, n, execs, tm in rows:
            if tm is None or tm.branch is not None or not execs:
                continue
            insns = self.decoder.block(vaddr, n)
            out[insns[-1].addr + insns[-1].size].append((vaddr, n, execs))
        return out

    def _continued(self, vaddr: int, n: int, execs: int, tm: BlockTiming,
                   preds: list[tuple[int, int, int]]) -> BlockTiming:
        """A block entered (partly) by falling through from blocks that QEMU
        cut without a branch: on the core those instructions run back to back,
        so for those entries the block costs time(pred + block) - time(pred)
        (a load pipelines with the one before the cut, a pair dual-issues
        across it); entries by a branch keep the block's own timing. Without
        this, estimates depend on where page boundaries fall in the code."""
        joined_execs = sum(pe for _pv, _pn, pe in preds)
        joined_cycles = sum(pe * self._joined(pv, pn, vaddr, n) for pv, pn, pe in preds)
        share = min(1.0, joined_execs / execs)
        cycles = share * (joined_cycles / joined_execs) + (1.0 - share) * tm.cycles
        scale = cycles / tm.cycles if tm.cycles else 1.0
        return tm._replace(cycles=cycles, by_class={cls: c * scale for cls, c in tm.by_class.items()})

    def _joined(self, pv: int, pn: int, vaddr: int, n: int) -> float:
        """Cycles of block (vaddr, n) run right after block (pv, pn)."""
        key = (pv, pn, vaddr, n)
        if key not in self._joined_cycles:
            before = self.decoder.block(pv, pn)
            both = before + self.decoder.block(vaddr, n)
            self._joined_cycles[key] = (time_block(both, self.table).cycles
                                        - time_block(before, self.table).cycles)
        return self._joined_cycles[key]

    def _evaluate(self, blocks: Iterable[tuple[int, int, int]]):
        merged: dict[tuple[int, int], int] = defaultdict(int)
        for vaddr, n, execs in blocks:
            merged[(vaddr, n)] += execs
        rows = []
        for (vaddr, n), execs in sorted(merged.items()):
            timing = self.timing(vaddr, n)
            rows.append((vaddr, n, execs, timing))
        taken = split_taken([(v, n, e, tm.branch if tm else None) for v, n, e, tm in rows])
        falls_into = self._fall_through_blocks(rows)
        out = []
        for vaddr, n, execs, tm in rows:
            extra: dict[str, float] = {}
            if tm is None:  # bytes not in the image (e.g. code written at run time): 1 cycle each
                out.append((vaddr, n, execs, float(n), {"undecoded": float(n)}, {"undecoded": n}))
                continue
            if vaddr in falls_into and execs:
                tm = self._continued(vaddr, n, execs, tm, falls_into[vaddr])
            if tm.branch is not None and execs:
                br_taken, br_execs = taken[tm.branch.addr]
                share = br_taken / br_execs if br_execs else 0.0
                extra["branch"] = share * tm.taken_extra
                if self.table.mispredict and tm.branch.branch in CONDITIONAL_KINDS:
                    missed = min(br_taken, br_execs - br_taken)
                    extra["branch"] += self.table.mispredict * missed / br_execs
            by_class = dict(tm.by_class)
            for cls, c in extra.items():
                by_class[cls] = by_class.get(cls, 0.0) + c
            out.append((vaddr, n, execs, tm.cycles + sum(extra.values()), by_class, tm.by_class_insns))
        return out

    def block_cycles(self, blocks: Iterable[tuple[int, int, int]]) -> list[BlockCycles]:
        return [BlockCycles(v, n, e, c) for v, n, e, c, _, _ in self._evaluate(blocks)]

    def memory_counts(self, memory: MemoryCounts | list[int] | None) -> MemoryCounts | None:
        if memory is None or isinstance(memory, MemoryCounts):
            return memory
        return MemoryCounts.from_record(self.memory_timing, memory)

    def estimate(self, blocks: Iterable[tuple[int, int, int]],
                 memory: MemoryCounts | list[int] | None = None) -> CycleEstimate:
        """Cycles of a run (or window) from its block records and, for a
        memory-aware run, its memory counters over the same span."""
        total = 0.0
        insns = 0
        by_class: dict[str, dict[str, float]] = {}
        for _v, n, execs, per_exec, classes, counts in self._evaluate(blocks):
            total += per_exec * execs
            insns += n * execs
            for cls in set(classes) | set(counts):
                slot = by_class.setdefault(cls, {"instructions": 0, "cycles": 0.0})
                slot["instructions"] += counts.get(cls, 0) * execs
                slot["cycles"] += classes.get(cls, 0.0) * execs
        counts = self.memory_counts(memory)
        stalls = stall_cycles(self.memory_timing, counts) if counts is not None else None
        if stalls is None and not self.memory_timing.modelled:
            stalls = {}  # zero-wait memory: nothing to count
        compute = int(round(total))
        cycles = int(round(total + sum((stalls or {}).values())))
        name = self.name if stalls is not None else self.name + " (memory stalls not counted)"
        return CycleEstimate(cycles, insns, cycles / insns if insns else 0.0, name,
                             dict(sorted(by_class.items())), compute, stalls,
                             counts.to_dict() if counts is not None else None)


@lru_cache(maxsize=16)
def _model(path: str, mtime_ns: int, core: str, timing: MemoryTiming, label: str | None) -> CycleModel:
    return CycleModel(path, core, timing, label)


def cycle_model(firmware, core) -> CycleModel:
    """The (cached) model of `core` for `firmware`.  core: a core name
    ('cortex-m4', zero-wait memory) or a Platform (its core and memory timing)."""
    path = Path(getattr(firmware, "path", firmware)).resolve()
    if not path.is_file():
        raise SimError(f"{path}: no such firmware file")
    core_name = getattr(core, "core", core)
    timing = getattr(core, "memory_timing", ZERO_WAIT)
    return _model(str(path), path.stat().st_mtime_ns, core_name, timing,
                  getattr(core, "name", "custom") if timing.modelled else None)


def estimate_cycles(firmware, core, blocks: Iterable[tuple[int, int, int]],
                    memory: MemoryCounts | list[int] | None = None) -> CycleEstimate:
    """Estimated cycles of a run from its block records (vaddr, n_insns, execs)
    and, for a memory-aware run, its memory counters (sim.memory)."""
    return cycle_model(firmware, core).estimate(blocks, memory)


def block_cycles(firmware, core, blocks: Iterable[tuple[int, int, int]]) -> list[BlockCycles]:
    """Per block: (vaddr, n_insns, execs, cycles_per_exec) at zero wait states, sorted by
    address; sum cycles_per_exec * execs over an address range for a function's compute cycles."""
    return cycle_model(firmware, core).block_cycles(blocks)


def cycles_in_range(rows: Iterable[BlockCycles], start: int, end: int) -> float:
    """Cycles of the blocks starting in [start, end) (e.g. one function)."""
    return sum(r.cycles_per_exec * r.execs for r in rows if start <= r.vaddr < end)
