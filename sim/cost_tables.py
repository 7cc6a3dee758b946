"""Per-core instruction timing tables for the cycle model (sim.cycles).

Every figure is a fact from an Arm Technical Reference Manual (Cortex-M4 TRM
r0p1, ARM DDI 0439, Table 3-1 "Cortex-M4 instruction set summary" and Table
7-1 "FPU instruction set"; Cortex-M3 TRM r2p1, ARM DDI 0337, Table 18-1;
Cortex-M0+ TRM r0p1, ARM DDI 0484, Table 3-1), a figure measured on silicon
where Arm publishes no instruction timing table (Cortex-M7, Cortex-M33), or a
documented modelling choice where the manual gives a range or no figure; each
entry names its source.  Figures are cycles at zero wait states; memory
stalls come on top (sim.memory).

Classes (what sim.cycles.classify returns):
  alu      ALU/MOV/shift/CMP/extend/bitfield/NOP          mul     MUL(S)
  mla      MLA/MLS                                          mull    SMULL/UMULL
  mlal     SMLAL/UMLAL/UMAAL                                dsp     DSP SIMD ALU (QADD16, SXTB16, SEL, ...)
  dsp_mac  DSP multiplies (SMLAD, SMUAD, SMLABB, SMMLA, SMLALD, ...)
  div      SDIV/UDIV                                        load    LDR/LDRB/LDRH/LDRSB/LDRSH/LDREX...
  store    STR/STRB/STRH/STREX...                           ldrd    LDRD          strd  STRD
  ldm      LDM/POP (cost from the register count)           stm     STM/PUSH
  it       IT                                                sys     MRS/MSR/CPS/barriers/SVC/BKPT/WFI
  fp       VADD/VSUB/VMUL/VABS/VNEG/VCVT/VCMP/VMOV/VMRS...   fp_mac  VFMA/VFMS/VMLA/VMLS/VNMLA...
  fp_div   VDIV/VSQRT                                       fp_load VLDR    fp_store VSTR
  fp_ldm   VLDM/VSTM/VPUSH/VPOP (cost from the word count)   fp_mov  VMOV core <-> FP register
  mve      Helium vector data processing (incl. VMLADAV...)
  mve_mem  Helium vector load/store                          lob     WLS/DLS/LCTP (loop set-up)
  branch   every branch (kind below)                         other   anything unrecognised (1 cycle)

Branch kinds: b (unconditional direct), bcc (conditional direct), cbz
(CBZ/CBNZ), bl, blx (BLX register), bx (BX register, MOV/ADD to PC),
ret (BX LR), tbb (TBB/TBH), pop_pc (LDM/POP including PC), ldr_pc (LDR to
PC), le (LE/LETP loop end).  Each has (issue cycles, extra cycles when taken).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from math import ceil

# 2: blocks QEMU cut without a branch are timed as the uncut code
# 3: memory stalls from the memory-aware plugin mode (sim.memory) replace the
#    per-taken-branch and per-literal flash_wait_states charge
MODEL_VERSION = "3"


@dataclass(frozen=True)
class CoreTable:
    name: str
    costs: dict[str, int]
    # branch kind -> (cycles in the block, extra cycles when the branch is taken)
    branches: dict[str, tuple[int, int]]
    ldm: str  # "1+N", "N" or "ceil(N/2)": cycles of a load/store multiple of N registers
    issue_width: int = 1  # 2: in-order dual issue (Cortex-M7 approximation)
    load_pipelining: bool = False  # M3/M4: a load/store right after an independent load is 1 cycle cheaper
    load_use_extra: int = 0  # cycles a load's result arrives later than its issue cost
    mac_latency_extra: int = 0  # cycles a multiply's result arrives later than its issue cost
    it_folding: bool = False  # IT costs 0 after a 16-bit non-branch instruction
    mispredict: int = 0  # >0: branches are predicted; this is the mispredict penalty
    has_mve: bool = False
    notes: tuple[str, ...] = field(default=())

    def multiple(self, n: int) -> int:
        """Cycles of a load/store multiple of n registers (or FP words)."""
        n = max(n, 1)
        if self.ldm == "1+N":
            return 1 + n
        if self.ldm == "N":
            return n
        return max(1, ceil(n / 2))


# Division uses early termination (2-12 cycles on M3/M4, TRM).  The operands
# are unknown to a static model, so every core uses the midpoint.
DIV_MODELLED = 7

# Cortex-M4 r0p1 TRM, Table 3-1 (processor) and Table 7-1 (FPU); P = 2
# ("P, pipeline refill, 1-3, usually 2").
_P = 2
CORTEX_M4 = CoreTable(
    name="cortex-m4",
    costs={
        "alu": 1,       # M4 TRM 3-1: ADD/SUB/MOV/CMP/logical/shift 1
        "it": 1,        # M4 TRM 3-1: IT 0-1 (folding handled by it_folding)
        "mul": 1,       # M4 TRM 3-1: MUL 1
        "mla": 1,       # M4 TRM 3-1: MLA/MLS 1
        "mull": 1,      # M4 TRM 3-1: SMULL/UMULL 1
        "mlal": 1,      # M4 TRM 3-1: SMLAL/UMLAL 1
        "dsp": 1,       # M4 TRM 3-1: all DSP-extension instructions 1
        "dsp_mac": 1,   # M4 TRM 3-1: SMLAD/SMUAD/... 1
        "div": DIV_MODELLED,  # M4 TRM 3-1: SDIV/UDIV 2-12 -> modelled 7 (midpoint)
        "load": 2,      # M4 TRM 3-1: LDR* 2 (1 when pipelined, see load_pipelining)
        "store": 2,     # M4 TRM 3-1: STR* 2 (1 when pipelined after a load)
        "ldrd": 3,      # M4 TRM 3-1: LDRD 1+N, N=2
        "strd": 3,      # M4 TRM 3-1: STRD 1+N, N=2
        "sys": 2,       # nominal (TRM 3-1 gives MRS/MSR/CPS/barriers several rows; rare in measured code)
        "fp": 1,        # M4 TRM 7-1: VADD/VSUB/VMUL/VABS/VNEG/VCMP/VCVT 1
        "fp_mac": 3,    # M4 TRM 7-1: VFMA/VFMS/VMLA/VMLS 3
        "fp_div": 14,   # M4 TRM 7-1: VDIV/VSQRT 14
        "fp_load": 2,   # M4 TRM 7-1: VLDR 2
        "fp_store": 2,  # M4 TRM 7-1: VSTR 2
        "fp_mov": 2,    # M4 TRM 7-1: VMOV core<->FP 2
        "mve": 2, "mve_mem": 2, "lob": 1,  # not in the ISA: never seen in M4 code
        "other": 1,     # unrecognised: nominal 1
    },
    branches={
        "b": (1, _P),       # M4 TRM 3-1: B 1+P
        "bcc": (1, _P),     # M4 TRM 3-1: B<cc> 1 not taken, 1+P taken
        "cbz": (1, _P),     # M4 TRM 3-1: CBZ/CBNZ 1 or 1+P
        "bl": (1, _P),      # M4 TRM 3-1: BL 1+P
        "blx": (1, _P),     # M4 TRM 3-1: BLX 1+P
        "bx": (1, _P),      # M4 TRM 3-1: BX 1+P; MOV/ADD to PC 1+P
        "ret": (1, _P),     # BX LR = BX 1+P
        "tbb": (2, _P),     # M4 TRM 3-1: TBB/TBH 2+P
        "pop_pc": (0, _P),  # M4 TRM 3-1: POP/LDM with PC 1+N+P (the 1+N part from ldm)
        "ldr_pc": (2, _P),  # M4 TRM 3-1: LDR to PC 2+P
        "le": (1, _P),      # not in the ISA
    },
    ldm="1+N",               # M4 TRM 3-1: LDM/STM/PUSH/POP 1+N
    load_pipelining=True,    # M4 TRM 3-1 note: neighbouring load/store singles pipeline
    it_folding=True,         # M4 TRM: IT folds onto a preceding 16-bit instruction
    notes=("P=2",),
)

# Cortex-M3 r2p1 TRM, Table 18-1: as the M4, except the multiplies; no DSP, no FPU.
CORTEX_M3 = CoreTable(
    name="cortex-m3",
    costs={
        **CORTEX_M4.costs,
        "mla": 2,    # M3 TRM 18-1: MLA/MLS 2
        "mull": 4,   # M3 TRM 18-1: SMULL/UMULL 3-5 (early termination) -> modelled 4 (midpoint)
        "mlal": 6,   # M3 TRM 18-1: SMLAL/UMLAL 4-7 (early termination) -> modelled 6 (midpoint, rounded up)
        # dsp/dsp_mac/fp*: not in the M3's ISA (M4 figures kept; never seen in M3 code)
    },
    branches=dict(CORTEX_M4.branches),  # M3 TRM 18-1: same branch timings, P = 2
    ldm="1+N",               # M3 TRM 18-1: LDM/STM 1+N
    load_pipelining=True,    # M3 TRM 18-1 note: neighbouring load/store singles pipeline
    it_folding=True,         # M3 TRM: IT folds onto a preceding 16-bit instruction
    notes=("P=2",),
)

# Cortex-M0+ r0p1 TRM, Table 3-1 (two-stage pipeline, single-cycle multiplier).
CORTEX_M0PLUS = CoreTable(
    name="cortex-m0plus",
    costs={
        **CORTEX_M3.costs,   # ARMv7-M-only classes (div, ldrd, dsp, fp...): never in ARMv6-M code
        "alu": 1,    # M0+ TRM 3-1: ALU 1
        "mul": 1,    # M0+ TRM 3-1: MULS 1 (fast multiplier configuration)
        "load": 2,   # M0+ TRM 3-1: LDR* 2
        "store": 2,  # M0+ TRM 3-1: STR* 2
        "sys": 3,    # M0+ TRM 3-1: MRS/MSR/DMB/DSB/ISB 3
        "it": 1,     # not in ARMv6-M
    },
    branches={
        "b": (1, 1),       # M0+ TRM 3-1: B 2
        "bcc": (1, 1),     # M0+ TRM 3-1: B<cc> 1 not taken, 2 taken
        "cbz": (1, 1),     # not in ARMv6-M (as B<cc>)
        "bl": (1, 2),      # M0+ TRM 3-1: BL 3
        "blx": (1, 1),     # M0+ TRM 3-1: BLX 2
        "bx": (1, 1),      # M0+ TRM 3-1: BX 2; MOV/ADD to PC 2
        "ret": (1, 1),     # BX LR = BX 2
        "tbb": (2, 1),     # not in ARMv6-M
        "pop_pc": (0, 2),  # M0+ TRM 3-1: POP with PC 3+N (1+N from ldm, +2)
        "ldr_pc": (2, 1),  # not in ARMv6-M
        "le": (1, 1),      # not in the ISA
    },
    ldm="1+N",  # M0+ TRM 3-1: LDM/STM/PUSH/POP 1+N
)

# Cortex-M7: Arm publishes no instruction timing table (the Cortex-M7 TRM,
# ARM DDI 0489, §1.2 describes an in-order dual-issue pipeline with branch
# prediction); these figures are measured on silicon: dual issue, LDM
# ceil(N/2), branch mispredict 8, MAC result latency +1.  A predicted branch
# costs its issue cycle only.  Other figures as the M4.
CORTEX_M7 = CoreTable(
    name="cortex-m7",
    costs={
        **CORTEX_M4.costs,
        "load": 1,     # measured on silicon: loads issue in one cycle (64-bit AXI/TCM path, no pipelining rule)
        "store": 1,    # measured: stores issue in one cycle
        "ldrd": 1,     # LDM ceil(N/2) with N=2
        "strd": 1,     # STM ceil(N/2) with N=2
    },
    branches={
        "b": (1, 0),       # predicted (direct)
        "bcc": (1, 0),     # predicted; mispredicts (see sim.cycles) cost 8
        "cbz": (1, 0),     # as B<cc>
        "bl": (1, 0),      # predicted (direct)
        "blx": (1, 8),     # indirect, not a return: counted as mispredicted (8)
        "bx": (1, 8),      # indirect, not a return: counted as mispredicted (8)
        "ret": (1, 0),     # returns predicted
        "tbb": (2, 8),     # table branch: indirect, counted as mispredicted (8)
        "pop_pc": (0, 0),  # return: predicted; cycles from ldm ceil(N/2)
        "ldr_pc": (1, 0),  # LDR PC,[SP],#4 return: predicted
        "le": (1, 0),      # not in the ISA
    },
    ldm="ceil(N/2)",        # measured: LDM ceil(N/2)
    issue_width=2,          # measured: dual issue (pairing rules in sim.cycles)
    mac_latency_extra=1,    # measured: MAC result latency +1
    mispredict=8,           # measured: branch mispredict 8
)

# Cortex-M33: Arm publishes no instruction timing table (Cortex-M33 TRM,
# ARM 100230); measured on silicon: load-to-use 2, LDM N, taken branch 2.
# Other figures as the M4 (DSP and FPv5 single precision present).
CORTEX_M33 = CoreTable(
    name="cortex-m33",
    costs={
        **CORTEX_M4.costs,
        "load": 1,     # measured: load issues in 1; result 2 cycles after issue (load_use_extra)
        "store": 1,    # measured: store 1
        "ldrd": 2,     # LDM N with N=2
        "strd": 2,     # STM N with N=2
        "fp_load": 1,  # as a core load (load-to-use 2 applies)
        "fp_store": 1,
    },
    branches={
        "b": (1, 1),       # measured: taken branch 2
        "bcc": (1, 1),     # 1 not taken, 2 taken
        "cbz": (1, 1),
        "bl": (1, 1),
        "blx": (1, 1),
        "bx": (1, 1),
        "ret": (1, 1),
        "tbb": (2, 1),     # load + taken branch
        "pop_pc": (0, 1),  # LDM N + taken branch
        "ldr_pc": (1, 1),
        "le": (1, 1),      # not in the ISA
    },
    ldm="N",               # measured: LDM N
    load_use_extra=1,      # measured: load-to-use 2
)

# Cortex-M55: scalar pipeline as the M33 (assumption: Arm publishes no M55
# scalar timing table); Helium (MVE) vector instructions take 2 cycles (a
# 128-bit vector in two 64-bit beats, Cortex-M55 TRM ARM 101051 "dual-beat"
# MVE), which gives the 8 int8 MACs per cycle of Arm's Cortex-M55 product
# brief for VMLADAV.S8 (16 MACs in 2 cycles).  Low-overhead loops: LE is predicted by
# the loop-end mechanism and costs 1, taken or not.
CORTEX_M55 = CoreTable(
    name="cortex-m55",
    costs={
        **CORTEX_M33.costs,
        "mve": 2,      # 128-bit vector on a 64-bit datapath: 2; M55 brief: 8 int8 MACs per cycle -> 16-lane VMLADAV.S8 in 2
        "mve_mem": 2,  # 128-bit vector load/store over a 64-bit path: 2
        "lob": 1,      # WLS/DLS/LCTP: 1
    },
    branches={**CORTEX_M33.branches, "le": (1, 0)},
    ldm="N",
    load_use_extra=1,
    has_mve=True,
)

TABLES: dict[str, CoreTable] = {
    t.name: t for t in (CORTEX_M0PLUS, CORTEX_M3, CORTEX_M4, CORTEX_M7, CORTEX_M33, CORTEX_M55)
}

ALIASES = {"m0+": "cortex-m0plus", "m0plus": "cortex-m0plus", "cortex-m0+": "cortex-m0plus",
           "cortex-m4f": "cortex-m4", "m4f": "cortex-m4"}


def core_table(core: str) -> CoreTable:
    key = core.strip().lower()
    key = ALIASES.get(key, key)
    if not key.startswith("cortex-"):
        key = ALIASES.get(key, "cortex-" + key)
    if key not in TABLES:
        raise ValueError(f"no cycle model for core '{core}' (known: {', '.join(TABLES)})")
    return TABLES[key]
