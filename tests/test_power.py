"""The power model's arithmetic, the platform [power] tables and the official loop's integration."""
from __future__ import annotations

import pytest

from harness.energy import (BoardPower, EnergyWindow, end_event_index, lpm_text, lpm_value, median_line,
                            median_uj, offline_window, runner_window, sample_joules)
from platforms import catalog, get_platform
from sim.power import PowerModelError, load_power_model

TABLE = {"model": "part-ldo", "version": 2, "part": "PART", "supply_v": 3.0, "reference_v": 3.0,
         "regulator": "ldo", "run_ua_per_mhz": 100.0, "run_static_ua": 500.0, "idle_ua_per_mhz": 20.0}


def test_run_power_is_current_per_mhz_times_clock_plus_static_times_volts():
    model = load_power_model(TABLE)
    assert model.name == "part-ldo/v2"
    assert model.run_current_ma(120) == pytest.approx(12.5)  # 100 uA/MHz x 120 MHz + 0.5 mA
    assert model.run_power_mw(120) == pytest.approx(37.5)  # x 3.0 V
    assert model.idle_power_mw(120) == pytest.approx(2.4 * 3.0)


def test_ldo_current_ignores_vdd_and_smps_power_ignores_vdd():
    ldo = load_power_model(TABLE)
    assert ldo.run_current_ma(100, 1.8) == ldo.run_current_ma(100, 3.3)
    assert ldo.run_power_mw(100, 1.8) == pytest.approx(ldo.run_current_ma(100) * 1.8)
    smps = load_power_model({**TABLE, "regulator": "smps", "reference_v": 3.3})
    assert smps.run_power_mw(100, 1.8) == pytest.approx(smps.run_power_mw(100, 3.3))
    assert smps.run_current_ma(100, 1.8) == pytest.approx(smps.run_current_ma(100, 3.3) * 3.3 / 1.8)


def test_energy_is_power_times_modeled_time():
    model = load_power_model(TABLE)
    # 120e6 cycles at 120 MHz = 1 s at 37.5 mW = 37.5 mJ = 37,500 uJ
    assert model.energy_uj(120e6, 120) == pytest.approx(37_500.0)
    assert model.energy_uj(60e6, 120, supply_v=1.5) == pytest.approx(37_500.0 / 4)


@pytest.mark.parametrize("key", ["model", "run_ua_per_mhz", "regulator"])
def test_bad_tables_name_the_key(key):
    broken = {k: v for k, v in TABLE.items() if k != key}
    with pytest.raises(PowerModelError, match=key):
        load_power_model(broken)
    with pytest.raises(PowerModelError, match="no \\[power\\] table"):
        load_power_model({})
    with pytest.raises(PowerModelError, match="regulator"):
        load_power_model({**TABLE, "regulator": "buck"})


@pytest.mark.parametrize("key, bad, message", [
    ("supply_v", "x", "key 'supply_v' must be a number"),
    ("run_ua_per_mhz", True, "key 'run_ua_per_mhz' must be a number"),
    ("version", 1.5, "key 'version' must be an integer"),
    ("model", 3, "key 'model' must be a string"),
])
def test_mistyped_values_name_the_key(key, bad, message):
    with pytest.raises(PowerModelError, match=message):
        load_power_model({**TABLE, key: bad}, "board.toml [power]")


def test_every_platform_table_loads_and_cites_its_numbers():
    with_power = [p for p in catalog().values() if p.power]
    assert {p.name for p in with_power} >= {"cortex-m4", "cortex-m7", "cortex-m33", "cortex-m0plus", "cortex-m3"}
    for platform in with_power:
        model = load_power_model(platform.power, platform.name)
        text = platform.source.read_text()
        for key in ("run_ua_per_mhz", "idle_ua_per_mhz", "supply_v"):
            line = next(l for l in text.splitlines() if l.startswith(key))
            assert "#" in line, f"{platform.name}: {key} has no source beside it"
        assert 0 < model.idle_power_mw(platform.clock_mhz) < model.run_power_mw(platform.clock_mhz)


def test_board_platforms_model_their_own_part():
    boards = {"nucleo-l4r5zi": "stm32l4r5-ldo", "nucleo-u575zi": "stm32u575-smps", "nucleo-h7a3zi": "stm32h7a3-smps",
              "nrf5340-app": "nrf5340-app-dcdc"}
    for name, model in boards.items():
        assert load_power_model(get_platform(name).power, name).model == model


def test_board_platforms_are_modeled_at_the_runners_lpm01a_supply():
    # The official runner's device list sets the LPM01A to 1.8 V (devices_kws_ic_vww.yaml), and the
    # published NUCLEO-L4R5ZI and NUCLEO-U575ZI-Q energy runs were made at 1.8 V.
    for name in ("nucleo-l4r5zi", "nucleo-u575zi", "nucleo-h7a3zi", "nrf5340-app"):
        assert load_power_model(get_platform(name).power, name).supply_v == 1.8
    l4r5 = load_power_model(get_platform("nucleo-l4r5zi").power)
    assert l4r5.run_power_mw(120) == pytest.approx(0.110 * 120 * 1.8)  # LDO: the current does not follow VDD


def test_unchecked_tables_say_where_the_datasheet_was_looked_for():
    for platform in (p for p in catalog().values() if p.power):
        checked = platform.power.get("checked")
        assert isinstance(checked, bool), f"{platform.name}: [power] needs checked = true/false"
        block = platform.source.read_text().split("[power]", 1)[1]
        if not checked:
            assert "Re-read 2026-12-04" in block and "stored sources" in block, platform.name

def test_lpm_ascii_dec_round_trips_four_digits():
    assert lpm_text(6.409e-4) == "6409-07" and lpm_value("6409-07") == pytest.approx(6.409e-4)
    assert lpm_text(0.99996e-3) == "1000-06"  # a rounding carry keeps four digits
    assert lpm_text(12.0) == "1200-02" and lpm_text(0.0) == "0000+00"
    for value in (3.3e-5, 1.2345e-2, 7.77e-9):
        assert abs(lpm_value(lpm_text(value)) - value) <= value * 5e-4


def test_samples_mix_active_and_idle_by_overlap():
    power = BoardPower(active_mw=40.0, idle_mw=10.0)
    span = [(2.0, 4.25)]
    assert sample_joules(0, power, span) == pytest.approx(10e-6)  # 10 mW x 1 ms
    assert sample_joules(2, power, span) == pytest.approx(40e-6)
    assert sample_joules(4, power, span) == pytest.approx((0.25 * 40 + 0.75 * 10) * 1e-6)
    assert end_event_index(2, 2250.0) == 4


def test_runner_integration_sums_whole_active_samples_between_the_last_two_events():
    power = BoardPower(active_mw=40.0, idle_mw=10.0)
    window = offline_window(power, window_us=10_500_400.0, iterations=20)
    assert window.events == [(1, 50), (2, 50 + 10_500)]
    figures = runner_window(window)
    assert figures["elapsed_s"] == pytest.approx(10.5)
    assert figures["uj_per_inference"] == pytest.approx(40e-6 * 10_500 / 20 * 1e6)  # 21,000 uJ
    assert figures["power_mw"] == pytest.approx(40.0)
    assert median_line(median_uj([window] * 5)) == "Median energy cost is 21000.0000 uJ/inf."


def test_runner_integration_rejects_lost_timestamps():
    with pytest.raises(ValueError, match="consecutive"):
        runner_window(EnergyWindow(1, [1e-6] * 10, [(1, 2), (3, 8)]))


def test_energy_table_rows_become_a_markdown_row_per_board_and_kernel_set_and_a_plot():
    from harness.energytable import markdown
    from harness.report import energy_bars_plot

    common = {"power_model": "m", "power_model_version": 1, "supply_v": 3.0, "average_power_mw": 39.6}
    rows = [{"benchmark": b, "platform": "cortex-m4", "kernels": k, "energy_uj_per_inference": uj, **common}
            for k, values in (("ref", (10.0, 2000.5)), ("opt", (5.0, 1000.25))) for b, uj in zip(("kws", "ad"), values)]
    table = markdown(rows).splitlines()
    assert table[0] == "| platform (modeled part) | kernels | supply V | power mW | kws uJ/inf | ad uJ/inf |"
    assert table[2] == "| cortex-m4 (m/v1) | ref | 3 | 39.60 | 10.0 | 2,000.5 |"
    assert table[3] == "| cortex-m4 (m/v1) | opt | 3 | 39.60 | 5.0 | 1,000.2 |"
    assert energy_bars_plot(rows)[:4] == b"\x89PNG"
