"""Modeled power and energy of a board: datasheet currents x supply voltage over modeled cycles.

Each platform file carries a `[power]` table (numbers with their datasheet
source beside them):

    model = "stm32l4r5-ldo"   # name reported with every energy figure
    version = 1               # bumped whenever a number changes
    part = "STM32L4R5ZI"
    supply_v = 3.0            # VDD the board is modeled at (the datasheet's typical VDD)
    reference_v = 3.0         # VDD the datasheet currents were given at
    regulator = "ldo"         # "ldo": current independent of VDD; "smps": power independent of VDD
    run_ua_per_mhz = 110.0    # Run mode, code from flash with cache on
    run_static_ua = 0.0       # clock-independent part of the run current
    idle_ua_per_mhz = 30.0    # the state between inferences (Sleep / WFI, clocks running)
    idle_static_ua = 0.0

Why the two regulator kinds: behind a linear regulator (LDO) the core draws the
same current whatever VDD is, so power grows with VDD; behind a switching
regulator (SMPS) the converter keeps input power roughly constant, so the
current the datasheet gives at `reference_v` scales by reference_v / VDD.

Energy of a window = run power x (cycles / clock).  The model knows nothing
about instructions or memory traffic: it is the datasheet's average run current
for code running from flash, which is what a datasheet gives.  It is a model,
not a measurement; the board's firmware, clock tree and peripherals differ.
"""
from __future__ import annotations

from dataclasses import dataclass

from tinyperf_errors import UsageError

REGULATORS = ("ldo", "smps")
NUMBER = (int, float)
_KIND_NAMES = {(str,): "a string", (int,): "an integer", NUMBER: "a number"}


class PowerModelError(UsageError):
    """A `[power]` table that is missing a key or holds an impossible value."""


@dataclass(frozen=True)
class PowerModel:
    model: str
    version: int
    part: str
    supply_v: float
    reference_v: float
    regulator: str
    run_ua_per_mhz: float
    run_static_ua: float
    idle_ua_per_mhz: float
    idle_static_ua: float

    @property
    def name(self) -> str:
        """`model/vN`, the tag every energy figure carries."""
        return f"{self.model}/v{self.version}"

    def _current_ma(self, ua_per_mhz: float, static_ua: float, clock_mhz: float, supply_v: float | None) -> float:
        volts = self.supply_v if supply_v is None else supply_v
        if volts <= 0:
            raise PowerModelError(f"supply voltage must be > 0 V, got {volts}")
        current_ua = ua_per_mhz * clock_mhz + static_ua
        if self.regulator == "smps":
            current_ua *= self.reference_v / volts
        return current_ua / 1000.0

    def run_current_ma(self, clock_mhz: float, supply_v: float | None = None) -> float:
        return self._current_ma(self.run_ua_per_mhz, self.run_static_ua, clock_mhz, supply_v)

    def idle_current_ma(self, clock_mhz: float, supply_v: float | None = None) -> float:
        return self._current_ma(self.idle_ua_per_mhz, self.idle_static_ua, clock_mhz, supply_v)

    def run_power_mw(self, clock_mhz: float, supply_v: float | None = None) -> float:
        return self.run_current_ma(clock_mhz, supply_v) * (self.supply_v if supply_v is None else supply_v)

    def idle_power_mw(self, clock_mhz: float, supply_v: float | None = None) -> float:
        return self.idle_current_ma(clock_mhz, supply_v) * (self.supply_v if supply_v is None else supply_v)

    def energy_uj(self, cycles: float, clock_mhz: float, supply_v: float | None = None) -> float:
        """Energy of `cycles` cycles in run mode: mW x us = nJ, / 1000 = uJ."""
        return self.run_power_mw(clock_mhz, supply_v) * (cycles / clock_mhz) / 1000.0

    def to_dict(self) -> dict:
        return {"name": self.name, **self.__dict__}


def load_power_model(table: dict, where: str = "[power]") -> PowerModel:
    """A PowerModel from a platform file's `[power]` table; PowerModelError naming the bad key."""
    if not table:
        raise PowerModelError(f"{where}: no [power] table; add one (see sim/power.py)")

    def value(key: str, kinds: tuple[type, ...], default=None):
        found = table.get(key, default)
        if found is None:
            raise PowerModelError(f"{where}: missing key {key!r}")
        if isinstance(found, bool) or not isinstance(found, kinds):  # TOML true is no number
            raise PowerModelError(f"{where}: key {key!r} must be {_KIND_NAMES[kinds]}, not {found!r}")
        return found

    model = PowerModel(
        model=value("model", (str,)), version=value("version", (int,)), part=value("part", (str,)),
        supply_v=float(value("supply_v", NUMBER)), reference_v=float(value("reference_v", NUMBER)),
        regulator=value("regulator", (str,)),
        run_ua_per_mhz=float(value("run_ua_per_mhz", NUMBER)),
        run_static_ua=float(value("run_static_ua", NUMBER, 0.0)),
        idle_ua_per_mhz=float(value("idle_ua_per_mhz", NUMBER)),
        idle_static_ua=float(value("idle_static_ua", NUMBER, 0.0)),
    )
    if model.regulator not in REGULATORS:
        raise PowerModelError(f"{where}: regulator {model.regulator!r} is not one of {', '.join(REGULATORS)}")
    for key in ("supply_v", "reference_v", "run_ua_per_mhz"):
        if getattr(model, key) <= 0:
            raise PowerModelError(f"{where}: {key} must be > 0")
    if model.idle_ua_per_mhz < 0 or model.run_static_ua < 0 or model.idle_static_ua < 0:
        raise PowerModelError(f"{where}: currents must not be negative")
    return model
