"""The cycle model (sim.cycles): classifier and tables on hand-assembled
snippets, the taken/not-taken split on synthetic block counts, and assembly
microbenchmarks run in QEMU whose cycles follow on paper from the TRM tables
(Cortex-M4 TRM Table 3-1, M3 TRM Table 18-1, M0+ TRM Table 3-1; M7/M33 figures
measured on silicon, see sim/cost_tables.py)."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import SEMIHOST_EXIT, needs_toolchain
from platforms import get_platform
from sim import FirmwareImage, RunOptions, open_emulator
from sim.cost_tables import TABLES, core_table
from platforms.memory import MemoryTiming, TimedRegion
from sim.memory import REGION_FIELDS, MemoryCounts
from sim.cycles import CycleModel, Insn, block_cycles, cycles_in_range, estimate_cycles, split_taken, time_block

needs_as = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None, reason="needs arm-none-eabi-gcc")


def assemble(tmp_path, body: str, cpu: str = "cortex-m4", base: int = 0, name: str = "s", extra: str = ""):
    """An ELF of `body` at `base` (label `start`), assembled for cpu."""
    src = tmp_path / f"{name}.S"
    src.write_text(f"""
    .syntax unified
    .thumb
    {extra}
    .text
    .global start
    .thumb_func
start:
{body}
end_of_snippet:
""")
    elf = tmp_path / f"{name}.elf"
    subprocess.run(["arm-none-eabi-gcc", f"-mcpu={cpu}", "-mthumb", "-nostdlib", f"-Ttext=0x{base:x}", "-e", "start",
                    "-o", str(elf), str(src)], check=True, capture_output=True)
    return FirmwareImage(elf)


def snippet(tmp_path, body: str, core: str, cpu: str | None = None, **kw):
    """(model, decoded instructions of the whole snippet)."""
    image = assemble(tmp_path, body, cpu or core, **kw)
    model = CycleModel(image, core)
    start = image.address("start")
    n = sum(1 for line in body.strip().splitlines() if line.strip() and not line.strip().endswith(":"))
    insns = model.decoder.block(start, n)
    assert insns is not None and insns[-1].addr + insns[-1].size == image.address("end_of_snippet")
    return model, insns


def cycles(tmp_path, body: str, core: str, cpu: str | None = None, **kw) -> float:
    model, insns = snippet(tmp_path, body, core, cpu, **kw)
    return time_block(insns, model.table).cycles


# -- classifier -------------------------------------------------------------------
@needs_as
def test_classifier_on_a_mixed_snippet(tmp_path):
    _, insns = snippet(tmp_path, """
    adds r0, r1
    mul r0, r1, r0
    mla r0, r1, r2, r0
    umull r0, r1, r2, r3
    smlal r0, r1, r2, r3
    smlad r0, r1, r2, r0
    qadd16 r0, r1, r2
    sxtb16 r0, r1
    udiv r0, r1, r2
    ldrb r0, [r1, #1]
    str r0, [r1]
    ldrd r0, r1, [r2]
    push {r4-r7, lr}
    ldm r0!, {r1-r8}
    it eq
    moveq r0, #1
    vadd.f32 s0, s1, s2
    vfma.f32 s0, s1, s2
    vdiv.f32 s0, s1, s2
    vldr s0, [r0]
    vmov r0, s0
    vpush {s16-s19}
    cbz r0, 1f
    nop
1:
    pop {r4-r7, pc}
""", "cortex-m4", extra=".fpu fpv4-sp-d16")
    classes = [i.cls for i in insns]
    assert classes == ["alu", "mul", "mla", "mull", "mlal", "dsp_mac", "dsp", "dsp", "div", "load", "store", "ldrd",
                       "stm", "ldm", "it", "alu", "fp", "fp_mac", "fp_div", "fp_load", "fp_mov", "fp_ldm", "branch",
                       "alu", "ldm"]
    assert insns[12].nregs == 5 and insns[13].nregs == 8 and insns[21].nregs == 4
    assert insns[15].cond and not insns[14 - 1].cond
    assert insns[22].branch == "cbz" and insns[22].cond and insns[22].target == insns[24].addr
    assert insns[24].branch == "pop_pc" and insns[24].nregs == 5


@needs_as
def test_branch_kinds(tmp_path):
    _, insns = snippet(tmp_path, """
    b 1f
1:
    bne 1b
    bl 1b
    blx r3
    bx lr
    bx r2
    mov pc, lr
    tbb [pc, r0]
    ldr pc, [sp], #4
""", "cortex-m4")
    assert [i.branch for i in insns] == ["b", "bcc", "bl", "blx", "ret", "bx", "ret", "tbb", "ldr_pc"]
    assert insns[1].target == insns[1].addr and insns[1].cond and not insns[0].cond


@needs_as
def test_helium_and_loop_instructions_are_recognised_on_m55(tmp_path):
    _, insns = snippet(tmp_path, """
    dls lr, r2
1:
    vldrb.s8 q1, [r0], #16
    vmladava.s8 r4, q1, q2
    vadd.i8 q0, q1, q2
    le lr, 1b
""", "cortex-m55", extra=".arch armv8.1-m.main\n    .arch_extension mve")
    assert [i.cls for i in insns] == ["lob", "mve_mem", "mve", "mve", "branch"]
    assert insns[-1].branch == "le"
    t = core_table("cortex-m55")
    assert [time_block((i,), t).cycles for i in insns[1:4]] == [2, 2, 2]  # 16 int8 MACs in 2 cycles


# -- per-core tables on snippets -----------------------------------------------------
@needs_as
@pytest.mark.parametrize("core, expected", [
    ("cortex-m4", 2 + 1 + 1),   # TRM: first load 2, pipelined loads 1
    ("cortex-m3", 2 + 1 + 1),
    ("cortex-m0plus", 2 * 3),   # M0+: LDR 2, no pipelining
    ("cortex-m33", 3),          # independent loads issue 1 each
    ("cortex-m7", 3),           # one load/store unit: no pairing of two loads
])
def test_independent_loads(tmp_path, core, expected):
    assert cycles(tmp_path, "ldr r0, [r1]\nldr r2, [r1, #4]\nldr r3, [r1, #8]", core) == expected


@needs_as
def test_a_block_cut_without_a_branch_costs_what_the_uncut_code_costs(tmp_path):
    """QEMU cuts blocks at 1 KiB pages; the core runs across the cut."""
    model, insns = snippet(tmp_path, "ldr r0, [r1]\nldr r2, [r1, #4]\nldr r3, [r1, #8]", "cortex-m4")
    start, third = insns[0].addr, insns[2].addr
    whole = model.block_cycles([(start, 3, 10)])[0].cycles_per_exec
    cut = model.block_cycles([(start, 2, 10), (third, 1, 10)])
    assert whole == 4 and sum(r.cycles_per_exec for r in cut) == whole
    # entered 10 times by falling through, 10 more by a branch (its own 2 cycles)
    mixed = {r.vaddr: r.cycles_per_exec for r in model.block_cycles([(start, 2, 10), (third, 1, 20)])}
    assert mixed[third] == pytest.approx(0.5 * 1 + 0.5 * 2)


@needs_as
@pytest.mark.parametrize("core, expected", [
    ("cortex-m4", 2 * 3),       # each load uses the previous result for its address: no pipelining
    ("cortex-m0plus", 2 * 3),
    ("cortex-m33", 1 + 2 + 2),  # load-to-use 2
    ("cortex-m7", 3),
])
def test_dependent_loads(tmp_path, core, expected):
    assert cycles(tmp_path, "ldr r0, [r0]\nldr r0, [r0]\nldr r0, [r0]", core) == expected


@needs_as
def test_store_after_load_pipelines_on_m4_and_post_index_base_does_not_block_it(tmp_path):
    assert cycles(tmp_path, "ldr r0, [r1], #4\nstr r0, [r2]", "cortex-m4") == 2 + 1
    assert cycles(tmp_path, "ldr r0, [r1], #4\nldr r2, [r1]", "cortex-m4") == 2 + 1
    assert cycles(tmp_path, "str r0, [r1]\nldr r0, [r2]", "cortex-m4") == 2 + 2  # nothing pipelines after a store


@needs_as
@pytest.mark.parametrize("core, expected", [
    ("cortex-m0plus", 1 + 8), ("cortex-m4", 1 + 8), ("cortex-m33", 8), ("cortex-m7", 4)])
def test_ldm_of_eight(tmp_path, core, expected):
    assert cycles(tmp_path, "ldm r0, {r0-r7}", core, cpu="cortex-m0plus") == expected


@needs_as
def test_multiplies_per_core(tmp_path):
    body = "mla r0, r1, r2, r0\numull r0, r1, r2, r3\nsmlal r0, r1, r2, r3"
    assert cycles(tmp_path, body, "cortex-m4") == 1 + 1 + 1
    assert cycles(tmp_path, body, "cortex-m3") == 2 + 4 + 6  # ranges 3-5 and 4-7: midpoints modelled
    assert cycles(tmp_path, "udiv r0, r1, r2", "cortex-m4") == 7  # 2-12: midpoint modelled
    assert cycles(tmp_path, "muls r0, r1, r0", "cortex-m0plus", cpu="cortex-m0plus") == 1


@needs_as
def test_fpu_costs(tmp_path):
    body = "vadd.f32 s0, s1, s2\nvmul.f32 s3, s1, s2\nvfma.f32 s4, s1, s2\nvdiv.f32 s5, s1, s2\nvldr s6, [r0]\nvmov r1, s7"
    assert cycles(tmp_path, body, "cortex-m4", extra=".fpu fpv4-sp-d16") == 1 + 1 + 3 + 14 + 2 + 2


@needs_as
def test_it_folds_after_a_16_bit_instruction_on_m4(tmp_path):
    assert cycles(tmp_path, "cmp r0, #1\nit eq\nmoveq r0, #2", "cortex-m4") == 2
    assert cycles(tmp_path, "cmp.w r0, #1\nit eq\nmoveq r0, #2", "cortex-m4") == 3
    assert cycles(tmp_path, "cmp r0, #1\nit eq\nmoveq r0, #2", "cortex-m33") == 3


@needs_as
def test_m7_dual_issue_and_mac_latency(tmp_path):
    assert cycles(tmp_path, "adds r0, #1\nadd r1, r1, #1", "cortex-m7") == 1  # independent: one pair
    assert cycles(tmp_path, "add r0, r0, #1\nadd r0, r0, #1", "cortex-m7") == 2  # dependent
    assert cycles(tmp_path, "ldr r0, [r1]\nldr r2, [r1]", "cortex-m7") == 2  # one load/store unit
    assert cycles(tmp_path, "ldr r0, [r1]\nadd r2, r2, #1", "cortex-m7") == 1
    assert cycles(tmp_path, "smlad r0, r1, r2, r0\nsmlad r0, r1, r2, r0", "cortex-m7") == 1 + 2  # latency +1
    assert cycles(tmp_path, "smlad r0, r1, r2, r0\nsmlad r3, r1, r2, r3", "cortex-m7") == 2  # one MAC unit


@needs_as
def test_m33_load_to_use(tmp_path):
    assert cycles(tmp_path, "ldr r0, [r1]\nadds r0, #1", "cortex-m33") == 3
    assert cycles(tmp_path, "ldr r0, [r1]\nadds r2, #1\nadds r0, #1", "cortex-m33") == 3


def test_every_core_has_a_table():
    for core in ("cortex-m0plus", "cortex-m3", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55"):
        table = core_table(core)
        assert set(TABLES["cortex-m4"].costs) <= set(table.costs)
        assert set(TABLES["cortex-m4"].branches) == set(table.branches)
        assert table.name == get_platform(core).core
    with pytest.raises(ValueError, match="no cycle model"):
        core_table("cortex-a53")


# -- taken / not-taken split ---------------------------------------------------------
def _br(addr, target, cond=True, size=2):
    return Insn(addr, size, "b", "branch", branch="bcc" if cond else "b", target=target, cond=cond)


def test_split_of_a_loop_back_edge_is_exact():
    # 0x100: setup + first iteration, ends with bne 0x110 at 0x11e; 0x110: the loop body (99 runs); 0x120: exit
    back = _br(0x11E, 0x110)
    blocks = [(0x100, 9, 1, back), (0x110, 4, 99, back), (0x120, 3, 1, None)]
    assert split_taken(blocks) == {0x11E: (99, 100)}


def test_split_of_an_if_skipping_a_body_is_exact():
    br = _br(0x10, 0x20)
    blocks = [(0x0, 4, 50, br), (0x12, 5, 20, None), (0x20, 3, 30, None)]
    assert split_taken(blocks) == {0x10: (30, 50)}


def test_split_is_proportional_within_bounds_when_addresses_are_shared():
    br = _br(0x10, 0x40)
    # target 0x40 is also entered from elsewhere (60 more), the fall-through 0x12 from elsewhere (10 more)
    blocks = [(0x0, 4, 100, br), (0x12, 2, 40, None), (0x40, 3, 130, None)]
    taken, execs = split_taken(blocks)[0x10]
    assert execs == 100 and 60 <= taken <= 100  # bounds: >= 100 - 40, <= min(100, 130)
    assert taken == min(100, max(60, round(100 * 130 / 170)))


def test_split_without_a_static_target_and_unconditional():
    ret = Insn(0x10, 2, "bxeq lr", "branch", branch="ret", cond=True)
    jump = _br(0x30, 0x0, cond=False)
    blocks = [(0x0, 4, 10, ret), (0x12, 1, 4, None), (0x20, 9, 7, jump)]
    assert split_taken(blocks) == {0x10: (6, 10), 0x30: (7, 7)}


@needs_as
def test_estimate_from_synthetic_counts_with_memory_stalls(tmp_path):
    image = assemble(tmp_path, "1:\n    ldr r1, =0x12345678\n    subs r0, #1\n    bne 1b\n    b .\n    .ltorg", "cortex-m4")
    start = image.address("start")
    # the loop block ran 10 times: 9 back edges taken, one exit to start+6
    blocks = [(start, 3, 10), (start + 6, 1, 1)]
    est = estimate_cycles(image, "cortex-m4", blocks)
    # per run: ldr 2 + subs 1 + bne 1, taken 9 x P=2; the b . block: 1 + P
    assert est.cycles == 10 * 4 + 9 * 2 + 3
    assert est.instructions == 31 and est.model.startswith("tinyperf-cycles/cortex-m4")
    assert est.by_class["branch"]["cycles"] == 10 + 18 + 3 and est.by_class["load"]["instructions"] == 10
    assert est.compute_cycles == est.cycles and est.stall_cycles == {} and est.memory is None
    timing = MemoryTiming((TimedRegion("flash", 0, 0x1000, 2, 3, 4, True),))
    model = CycleModel(image, "cortex-m4", timing)
    assert model.estimate(blocks).stall_cycles is None  # slow memory, counters missing: said so
    assert "not counted" in model.estimate(blocks).model
    row = dict.fromkeys(REGION_FIELDS, 0) | {"reads": 10, "data_misses": 1, "fetch_misses": 4}
    waited = model.estimate(blocks, MemoryCounts({"flash": row, "other": dict.fromkeys(REGION_FIELDS, 0)}))
    assert waited.stall_cycles == {"flash_data": 3.0, "flash_fetch": 8.0}
    assert (waited.compute_cycles, waited.cycles) == (est.cycles, est.cycles + 11)
    assert waited.memory == {"regions": {"flash": {"reads": 10, "writes": 0}}}
    rows = block_cycles(image, "cortex-m4", blocks)
    assert [r.vaddr for r in rows] == [start, start + 6]
    assert cycles_in_range(rows, start, start + 6) == 10 * 4 + 9 * 2
    unknown = estimate_cycles(image, "cortex-m4", [(0x3000000, 5, 2)])
    assert unknown.cycles == 10 and "undecoded" in unknown.by_class


# -- microbenchmarks in QEMU -------------------------------------------------------------
N = 200


def _loop(body: str, setup: str = "") -> str:
    return f"{setup}\n    movs r3, #{N}\n1:\n{body}\n    subs r3, #1\n    bne 1b\n"


BENCHES = {
    "dep_ldr": lambda data: _loop("\n".join(["    ldr r0, [r0]"] * 8), f"    ldr r0, ={data}\n    str r0, [r0]"),
    "indep_ldr": lambda data: _loop("\n".join(f"    ldr r{r}, [r0, #{4 * k + 4}]"
                                              for k, r in enumerate((1, 2, 4, 5, 6, 7, 1, 2))), f"    ldr r0, ={data}"),
    "taken": lambda data: _loop("    cmp r0, #0\n    beq 2f\n    nop\n2:", "    movs r0, #0"),
    "untaken": lambda data: _loop("    cmp r0, #1\n    beq 2f\n    nop\n2:", "    movs r0, #0"),
    "ldm8": lambda data: f"""
    ldr r0, ={data}
    mov r9, r0
    movs r3, #{N}
    mov r8, r3
1:
    mov r0, r9
    ldm r0, {{r0-r7}}
    mov r3, r8
    subs r3, #1
    mov r8, r3
    bne 1b
""",
    "smlad": lambda data: _loop("\n".join(["    smlad r0, r1, r2, r0"] * 8)),
    "udiv": lambda data: _loop("\n".join(["    udiv r0, r1, r2"] * 4), "    movs r1, #100\n    movs r2, #7"),
    "vmladav": lambda data: _loop("\n".join(["    vmladava.s8 r0, q1, q2"] * 8), """
    ldr r0, =0xE000ED88
    ldr r1, [r0]
    orr r1, r1, #0xF00000
    str r1, [r0]
    dsb
    isb"""),
}

# Cycles per loop iteration on paper, from the TRM tables of sim/cost_tables.py (loop overhead
# SUBS 1 + taken BNE: M0+ 1+2, M3/M4 1+(1+P), M33/M55 1+2; M7: see each entry).
PAPER = {
    "cortex-m0plus": {
        "dep_ldr": 8 * 2 + 3, "indep_ldr": 8 * 2 + 3,
        "taken": 1 + 2 + 1 + 2,        # CMP, B<cc> taken 2, SUBS, BNE taken 2
        "untaken": 1 + 1 + 1 + 1 + 2,  # CMP, B<cc> not taken 1, NOP, SUBS, BNE 2
        "ldm8": 1 + (1 + 8) + 1 + 1 + 1 + 2,
    },
    "cortex-m3": {
        "dep_ldr": 8 * 2 + 4,           # each load needs the previous result: no pipelining
        "indep_ldr": 2 + 7 * 1 + 4,     # pipelined after the first
        "taken": 1 + 3 + 1 + 3, "untaken": 1 + 1 + 1 + 1 + 3,
        "ldm8": 1 + (1 + 8) + 1 + 1 + 1 + 3,
        "udiv": 4 * 7 + 4,              # UDIV 2-12: modelled 7
    },
    "cortex-m4": {
        "dep_ldr": 8 * 2 + 4, "indep_ldr": 2 + 7 + 4,
        "taken": 1 + 3 + 1 + 3, "untaken": 1 + 1 + 1 + 1 + 3,
        "ldm8": 1 + 9 + 1 + 1 + 1 + 3,
        "smlad": 8 * 1 + 4, "udiv": 4 * 7 + 4,
    },
    "cortex-m7": {
        "dep_ldr": 8 + 1,    # loads 1 each (dependent: no pairing); SUBS pairs with the last; BNE waits for flags
        "indep_ldr": 8 + 1,  # one load/store unit: loads do not pair with each other
        "taken": 2 + 2,      # CMP then BEQ (flags), SUBS then BNE; predicted: no refill
        "untaken": 2 + 2,    # CMP, BEQ | NOP+SUBS paired, BNE
        "ldm8": 1 + 4 + 1 + 1 + 1,  # MOV, LDM ceil(8/2), MOV, SUBS, MOV+BNE paired
        "smlad": 8 * 2,      # MAC result latency +1; SUBS and BNE fit the last MAC's shadow
        "udiv": 4 * 7 + 2,
    },
    "cortex-m33": {
        "dep_ldr": 7 * 2 + 1 + 3,  # load-to-use 2
        "indep_ldr": 8 + 3,
        "taken": 1 + 2 + 1 + 2, "untaken": 1 + 1 + 1 + 1 + 2,
        "ldm8": 1 + 8 + 1 + 1 + 1 + 2,  # LDM N
        "smlad": 8 + 3, "udiv": 4 * 7 + 3,
    },
}
PAPER["cortex-m55"] = {**PAPER["cortex-m33"], "vmladav": 8 * 2 + 3}  # 16 int8 MACs per 2 cycles


def _bench_program(platform: str) -> tuple[str, list[str]]:
    data = get_platform(platform).ram.base + 0x1000
    names = list(PAPER[platform])
    parts = [f"bench_{name}:\n{BENCHES[name](data)}" for name in names]
    return "\n".join(parts) + "\nbench_end:\n" + SEMIHOST_EXIT.format(code=0) + "\n    .ltorg\n", names


@pytest.fixture
def bench_elf(tmp_path):
    def make(platform: str):
        p = get_platform(platform)
        body, names = _bench_program(platform)
        arch = ".arch armv8.1-m.main\n    .arch_extension mve" if platform == "cortex-m55" else ""
        src = tmp_path / f"{platform}.S"
        src.write_text(f"""
    .syntax unified
    .thumb
    {arch}
    .text
    .word 0x{p.ram.base + 0x10000:08x}
    .word reset + 1
    .word 0
    .word 0
    .global reset
    .thumb_func
reset:
{body}
""")
        elf = tmp_path / f"{platform}.elf"
        cpu = next(f for f in p.cflags if f.startswith("-mcpu="))
        subprocess.run(["arm-none-eabi-gcc", cpu, "-mthumb", "-nostdlib", f"-Ttext=0x{p.flash.base:x}",
                        "-e", "reset", "-o", str(elf), str(src)], check=True, capture_output=True)
        return elf, names
    return make


@needs_toolchain
@pytest.mark.parametrize("platform", list(PAPER))
def test_microbenchmarks_match_paper_cycles(platform, bench_elf):
    elf, names = bench_elf(platform)
    with open_emulator(platform, elf, RunOptions(profile=True)) as dut:
        assert dut.wait(20) == 0
        blocks = dut.counters().blocks
    image = FirmwareImage(elf)
    rows = block_cycles(image, get_platform(platform), blocks)
    bounds = [image.address(f"bench_{name}") for name in names] + [image.address("bench_end")]
    failures = []
    for name, start, end in zip(names, bounds, bounds[1:]):
        measured = cycles_in_range(rows, start, end) / N
        paper = PAPER[platform][name]
        if abs(measured - paper) > 0.1 * paper:
            failures.append(f"{name}: model {measured:.2f} vs paper {paper} cycles/iteration")
    assert not failures, failures
    est = estimate_cycles(image, platform, blocks)
    assert est.instructions == sum(n * e for _, n, e in blocks) and 0.3 < est.cpi < 5
