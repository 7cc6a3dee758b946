"""The counting plugin's record format and window arithmetic."""
from __future__ import annotations

from sim.plugin import CounterLog, windows


def test_counter_log_reads_whole_lines_incrementally(tmp_path):
    path = tmp_path / "counts"
    path.write_text("M 1c0 10\nM 1c2 3")  # second line not finished yet
    log = CounterLog(path).poll()
    assert log.markers == [(0x1C0, 10)] and not log.complete
    with path.open("a") as f:
        f.write("0\nT 99\nB 100 4 7\nE\n")
    log.poll()
    assert log.markers == [(0x1C0, 10), (0x1C2, 30)]
    assert (log.total, log.blocks, log.complete) == (99, [(0x100, 4, 7)], True)


def test_windows_pair_begin_with_the_next_end():
    # An end without an open window is ignored; a second begin inside an open
    # window does not restart it (a begin site can be a loop head in the window).
    trace = [(1, 10), (2, 15), (2, 17), (1, 20), (1, 25), (2, 40)]
    assert windows(trace, 1, 2) == [5, 20]


def test_single_marker_windows_are_gaps_between_hits():
    assert windows([(7, 100), (7, 150), (7, 400)], 7, 7) == [50, 250]


def test_no_markers_no_windows():
    assert windows([], 1, 2) == [] and windows([], 3, 3) == []


def test_memory_records_follow_marker_hits_and_the_total(tmp_path):
    from sim.plugin import window_memory

    path = tmp_path / "counts"
    path.write_text("M a 5\nC 1 2 3\nS a\nB a 1 1\ns\nM b 9\nC 4 6 8\nS b\nB a 1 1\nB b 1 1\ns\n"
                    "T 12\nC 5 7 9\nB a 1 1\nE\n")
    log = CounterLog(path).poll()
    assert log.memory == [[1, 2, 3], [4, 6, 8]] and log.memory_total == [5, 7, 9]
    assert window_memory(log, 0xA, 0xB) == [3, 4, 5]  # the counters at the end minus those at the begin
