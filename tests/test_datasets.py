"""Official-layout datasets, AD windowing and the default inputs."""
from __future__ import annotations

import numpy as np
import pytest

from harness.datasets import DatasetError, Sample, ad_windows, default_inputs, load_dataset


def make_set(root, bench_id, rows, files):
    folder = root / bench_id
    folder.mkdir(parents=True)
    (folder / "y_labels.csv").write_text("".join(r + "\n" for r in rows))
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return root


def test_loads_a_classifier_set_in_index_order(tmp_path):
    files = {"a.bin": bytes(range(256)) * 12, "b.bin": bytes(3072)}
    make_set(tmp_path, "ic01", ["b.bin,10,3", "a.bin,10,7"], files)
    ds = load_dataset(tmp_path, "ic")
    assert (len(ds), ds.files) == (2, 2)
    samples = list(ds)
    assert samples == [Sample("b.bin", 3, files["b.bin"], "b.bin"), Sample("a.bin", 7, files["a.bin"], "a.bin")]


def test_loads_ad_as_windows_named_by_file(tmp_path):
    data = np.arange(25_600, dtype="<f4").tobytes()
    make_set(tmp_path, "ad01", ["n.bin,2,0,2560,512", "a.bin,2,1,2560,512"], {"n.bin": data, "a.bin": data[:2560 + 1024]})
    ds = load_dataset(tmp_path, "ad")
    assert ds.files == 2 and len(ds) == 196 + 3
    samples = list(ds)
    assert len(samples) == 199
    assert samples[0] == Sample("n.bin#000", 0, data[:2560], "n.bin")
    assert samples[195].name == "n.bin#195" and samples[195].data == data[195 * 512:195 * 512 + 2560]
    assert [s.name for s in samples[196:]] == ["a.bin#000", "a.bin#001", "a.bin#002"]
    assert {s.label for s in samples[196:]} == {1}


def test_blank_lines_and_spaces_are_tolerated(tmp_path):
    make_set(tmp_path, "kws01", ["", " x.bin , 12 , 4 ", ""], {"x.bin": bytes(490)})
    assert [s.label for s in load_dataset(tmp_path, "kws")] == [4]


def test_ad_windows_count_for_a_full_file():
    data = bytes(25_600 * 4)
    windows = ad_windows(data)
    assert len(windows) == (102_400 - 2560) // 512 + 1 == 196
    assert all(len(w) == 2560 for w in windows)


def test_ad_windows_drop_a_short_tail():
    data = bytes(range(256)) * 11  # 2816 bytes: one window, 256 bytes left over
    assert ad_windows(data) == [data[:2560]]
    assert ad_windows(data[:2559]) == []
    assert ad_windows(bytes(10), window=4, stride=3) == [bytes(4)] * 3


@pytest.mark.parametrize("rows, files, message", [
    (["a.bin,10,1", "missing.bin,10,2"], {"a.bin": bytes(3072)}, r"line 2: file not found: .*missing\.bin"),
    (["a.bin,10,1"], {"a.bin": bytes(3071)}, r"line 1: a\.bin has 3071 bytes, ic inputs have 3072"),
    (["a.bin,10"], {"a.bin": bytes(3072)}, r"line 1: expected 'file,classes,label'"),
    (["a.bin,10,1,2"], {"a.bin": bytes(3072)}, r"line 1: expected 'file,classes,label'"),
    (["a.bin,ten,1"], {"a.bin": bytes(3072)}, r"line 1: expected 'file,classes,label' with integers"),
    ([",10,1"], {}, r"line 1: expected 'file,classes,label'"),
    (["a.bin,12,1"], {"a.bin": bytes(3072)}, r"line 1: 12 classes, but ic has 10"),
    (["a.bin,10,10"], {"a.bin": bytes(3072)}, r"line 1: label 10 is not in 0\.\.9"),
    (["a.bin,10,1", "a.bin,10,1"], {"a.bin": bytes(3072)}, r"line 2: 'a\.bin' is listed twice"),
    ([""], {}, r"lists no files"),
])
def test_classifier_index_errors(tmp_path, rows, files, message):
    make_set(tmp_path, "ic01", rows, files)
    with pytest.raises(DatasetError, match=message) as err:
        load_dataset(tmp_path, "ic")
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("row, size, message", [
    ("f.bin,2,0", 102_400, r"expected 'file,classes,label,window_bytes,stride_bytes'"),
    ("f.bin,2,0,2000,512", 102_400, r"window of 2000 bytes, but the ad model takes 2560"),
    ("f.bin,2,0,2560,0", 102_400, r"stride 0 must be a positive multiple of 4"),
    ("f.bin,2,0,2560,510", 102_400, r"stride 510 must be a positive multiple of 4"),
    ("f.bin,2,0,2560,512", 2556, r"f\.bin has 2556 bytes; ad files are float32 values, at least 2560 bytes"),
    ("f.bin,2,0,2560,512", 2562, r"f\.bin has 2562 bytes"),
    ("f.bin,2,2,2560,512", 102_400, r"label 2 is not in 0\.\.1"),
])
def test_ad_index_errors(tmp_path, row, size, message):
    make_set(tmp_path, "ad01", [row], {"f.bin": bytes(size)})
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path, "ad")


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset folder not found: .*vww01$"):
        load_dataset(tmp_path, "vww")


def test_missing_folder_when_given_the_benchmark_folder_itself(tmp_path):
    make_set(tmp_path, "vww01", ["a.bin,2,1"], {"a.bin": bytes(27_648)})
    with pytest.raises(DatasetError, match=r"pass the folder that contains it"):
        load_dataset(tmp_path / "vww01", "vww")


def test_missing_index(tmp_path):
    (tmp_path / "kws01").mkdir()
    with pytest.raises(DatasetError, match=r"y_labels\.csv not found"):
        load_dataset(tmp_path, "kws")


@pytest.mark.parametrize("name, size", [("ic", 3072), ("kws", 490), ("vww", 27_648)])
def test_default_inputs_have_the_right_size(name, size):
    samples = default_inputs(name, 5, seed=3)
    assert len(samples) == 5 and all(len(s.data) == size for s in samples)
    assert len({s.name for s in samples}) == 5


def test_default_kws_starts_with_the_bundled_sample_then_synthetic():
    samples = default_inputs("kws", 3, seed=0)
    assert [s.name for s in samples] == ["reference_submission_input.bin", "synthetic-0000", "synthetic-0001"]
    assert all(s.label is None for s in samples)
    values = np.frombuffer(samples[1].data, dtype=np.int8)
    assert 40 < values.mean() < 110  # spread like the real features (mean ~76), not uniform noise (~0)


def test_default_ad_cuts_the_bundled_file_into_windows_first():
    samples = default_inputs("ad", 200, seed=0)
    assert [s.name for s in samples[:2]] == ["normal_id_01_00000000_hist_librosa.bin#000",
                                             "normal_id_01_00000000_hist_librosa.bin#001"]
    assert samples[195].file == "normal_id_01_00000000_hist_librosa.bin" and samples[195].label == 0
    assert samples[196].name == samples[196].file == "synthetic-0000" and samples[196].label is None
    x = np.frombuffer(samples[199].data, dtype="<f4")
    assert x.size == 640 and np.isfinite(x).all() and -80 < x.mean() < 10
    assert len(default_inputs("ad", 3)) == 3


def test_default_inputs_are_deterministic_per_seed():
    assert default_inputs("ic", 3, seed=7) == default_inputs("ic", 3, seed=7)
    assert default_inputs("ic", 3, seed=7) != default_inputs("ic", 3, seed=8)
    assert default_inputs("ic", 0) == []
