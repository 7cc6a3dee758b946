"""The official energy loop on modeled power: what an LPM01A would stream, integrated as the runner does.

The official runner's energy mode (mlcommons/tiny benchmark/runner, `tests_energy.yaml`) runs,
five times, `download` then `infer N W` with a power monitor streaming 1 kHz energy samples
(joules per 1 ms sample, printed as four digits and an exponent, `6409-07` = 6409e-7 J) and an
`event N ris` line each time the DUT's timestamp pin fires.  main.py sums the samples between the
last two events, divides by N and prints the median over the windows:
`Median energy cost is X uJ/inf.` (`%5.4f`).

Here the monitor's samples come from the power model (sim.power): run power while the measured
window is active, the idle state's power otherwise.  The window starts on a sample boundary
(the emulated monitor's sample clock is aligned to the first timestamp event), so a window of
W us holds floor(W / 1000) whole active samples between its two events; the sample holding
its end is mixed and lies after the second event, as on the real monitor.  Both the emulated
LPM01A (harness/benchdevices.py) and `tinyperf run --mode energy` build samples with
`sample_joules` and integrate with `runner_window`, so they print the same median.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sim.power import PowerModel

SAMPLE_HZ = 1000
SAMPLE_US = 1_000_000 // SAMPLE_HZ
WINDOWS = 5  # `loop 5` in tests_energy.yaml
MIN_WINDOW_S = 10.0  # main.py flags shorter windows "not valid for submission"
# `infer N W` per benchmark in tests_energy.yaml (mlcommons/tiny benchmark/runner).
ENERGY_LOOP = {"ad": (1500, 0), "ic": (20, 0), "kws": (70, 10), "vww": (20, 5)}
LEAD_SAMPLES = 50  # idle samples the offline trace shows before the first event (plots only)


def lpm_text(joules: float) -> str:
    """An energy value as the LPM01A's ascii_dec format prints it: 4 digits, sign, 2-digit exponent."""
    if joules <= 0:
        return "0000+00"
    exponent = math.floor(math.log10(joules)) - 3
    mantissa = round(joules / 10.0 ** exponent)
    if mantissa >= 10000:  # rounding carried into a fifth digit
        mantissa, exponent = round(mantissa / 10), exponent + 1
    sign = "+" if exponent >= 0 else "-"
    return f"{mantissa:04d}{sign}{abs(exponent):02d}"


def lpm_value(text: str) -> float:
    """The float the runner's parser makes of an ascii_dec value (`6409-07` -> 6409e-07)."""
    return float(text.replace("+", "e+").replace("-", "e-"))


@dataclass(frozen=True)
class BoardPower:
    """The two power levels the monitor sees, in mW."""

    active_mw: float
    idle_mw: float

    @classmethod
    def of(cls, model: PowerModel, clock_mhz: float, supply_v: float | None = None) -> BoardPower:
        return cls(model.run_power_mw(clock_mhz, supply_v), model.idle_power_mw(clock_mhz, supply_v))


def sample_text(index: int, power: BoardPower, active: list[tuple[float, float]]) -> str:
    """Sample `index` (covering [index, index + 1) in sample units) as the monitor prints it,
    given the active intervals (start, end) in sample units."""
    busy = sum(max(0.0, min(index + 1, end) - max(index, start)) for start, end in active)
    busy = min(busy, 1.0)
    nanojoules = (power.active_mw * busy + power.idle_mw * (1.0 - busy)) * SAMPLE_US  # mW x us = nJ
    return lpm_text(nanojoules * 1e-9)


def sample_joules(index: int, power: BoardPower, active: list[tuple[float, float]]) -> float:
    """The same sample as the runner parses it."""
    return lpm_value(sample_text(index, power, active))


def window_span(start_sample: int, window_us: float) -> tuple[float, float]:
    return (float(start_sample), start_sample + window_us / SAMPLE_US)


def end_event_index(start_sample: int, window_us: float) -> int:
    """Samples the monitor has sent when the end-of-window timestamp fires."""
    return start_sample + math.floor(window_us / SAMPLE_US)


@dataclass
class EnergyWindow:
    """One `infer N W` under the monitor: its samples (J) and events (counter, samples sent)."""

    iterations: int
    samples: list[float]
    events: list[tuple[int, int]]
    window_us: float = 0.0

    def to_dict(self) -> dict:
        return {"iterations": self.iterations, "window_us": self.window_us, "events": self.events,
                **runner_window(self)}


def offline_window(power: BoardPower, window_us: float, iterations: int,
                   lead: int = LEAD_SAMPLES, tail: int = LEAD_SAMPLES) -> EnergyWindow:
    """The monitor's stream for one window that starts after `lead` idle samples."""
    span = window_span(lead, window_us)
    stop = end_event_index(lead, window_us)
    total = stop + 1 + tail
    samples = [sample_joules(k, power, [span]) for k in range(total)]
    return EnergyWindow(iterations, samples, [(1, lead), (2, stop)], window_us)


def runner_window(window: EnergyWindow) -> dict:
    """main.py's integration of one window: the samples between the last two events."""
    counters = [c for c, _ in window.events]
    if len(window.events) < 2 or any(b - a != 1 for a, b in zip(counters, counters[1:])):
        raise ValueError(f"timestamps are not two or more consecutive events: {window.events}")
    start, stop = window.events[-2][1], window.events[-1][1]
    total_j = float(np.sum(np.array(window.samples[start:stop])))
    elapsed_s = stop / SAMPLE_HZ - start / SAMPLE_HZ  # main.py: sample numbers / sampling frequency
    return {
        "elapsed_s": elapsed_s,
        "power_mw": 1e3 * total_j / elapsed_s if elapsed_s > 0 else float("nan"),
        "total_uj": total_j * 1e6,
        "j_per_inference": total_j / window.iterations,
        "uj_per_inference": total_j / window.iterations * 1e6,
    }


def median_uj(windows: list[EnergyWindow]) -> float:
    """main.py's median: of the per-window J/inference, times 1e6."""
    return float(1e6 * np.median([runner_window(w)["j_per_inference"] for w in windows]))


def median_line(value_uj: float) -> str:
    """The line main.py prints (and scripts grep)."""
    return f"Median energy cost is {value_uj:5.4f} uJ/inf."


@dataclass
class EnergyResult:
    """`tinyperf run --mode energy`: the official loop's windows and their median."""

    loop: str
    windows: list[EnergyWindow] = field(default_factory=list)
    supply_v: float = 0.0
    power_model: str = ""
    active_mw: float = 0.0
    idle_mw: float = 0.0

    @property
    def median_uj_per_inference(self) -> float:
        return median_uj(self.windows)

    @property
    def valid_for_submission(self) -> bool:
        return len(self.windows) == WINDOWS and all(runner_window(w)["elapsed_s"] >= MIN_WINDOW_S
                                                    for w in self.windows)

    def to_dict(self) -> dict:
        return {"loop": self.loop, "supply_v": self.supply_v, "power_model": self.power_model,
                "active_mw": self.active_mw, "idle_mw": self.idle_mw,
                "median_uj_per_inference": round(self.median_uj_per_inference, 4),
                "runner_line": median_line(self.median_uj_per_inference),
                "valid_for_submission": self.valid_for_submission,
                "windows": [w.to_dict() for w in self.windows]}
