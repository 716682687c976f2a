import gzip
import json
import re
import shutil

import numpy as np
import pytest
from conftest import SAMPLE, call_main

from fer_bench.data.formats import EMOTIONS, USAGES
from fer_bench.data.source import load_data, resolve_data_path
from fer_bench.data.splits import describe_splits, sanity_warnings, study_splits
from fer_bench.errors import UserError

ALPHABETICAL = sorted(e.lower() for e in EMOTIONS)  # angry, disgust, fear, happy, neutral, sad, surprise
PUBLISHED = {
    "Training": [3995, 436, 4097, 7215, 4830, 3171, 4965],
    "PublicTest": [467, 56, 496, 895, 653, 415, 607],
    "PrivateTest": [491, 55, 528, 879, 594, 416, 626],
}


def sample_rows() -> list[bytes]:
    return gzip.decompress(SAMPLE.read_bytes()).splitlines()


def write_csv(path, rows: list[bytes]):
    path.write_bytes(b"\n".join(rows) + b"\n")
    return path


def test_sample_is_small_stratified_and_real():
    data = load_data(SAMPLE)
    counts = {u: len(data.indices(u)) for u in USAGES}
    assert counts == {"Training": 300, "PublicTest": 100, "PrivateTest": 100}
    assert set(np.unique(data.labels)) == set(range(7)) and data.is_sample
    assert data.pixels.dtype == np.uint8 and data.pixels.shape == (500, 48, 48)


@pytest.mark.slow
@pytest.mark.real_data
def test_full_data_counts_and_protocol(real_data):
    data = load_data(real_data)
    summary = describe_splits(data, study_splits(data, split_seed=1302))
    for usage, counts in PUBLISHED.items():
        assert summary[usage]["n"] == sum(counts) and summary[usage]["class_counts"] == counts
    assert summary["train"]["n"] == 20_096 and summary["validation"]["n"] == 8_613
    train, val = np.array(summary["train"]["class_counts"]), np.array(summary["validation"]["class_counts"])
    assert np.allclose(val / (train + val), 0.3, atol=0.002)  # stratified
    assert sanity_warnings(summary) == []


@pytest.mark.slow
@pytest.mark.real_data
def test_cli_data_json_gives_the_published_counts(real_data):
    result = call_main("data", "--data", real_data, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    for usage, counts in PUBLISHED.items():
        assert report["splits"][usage]["class_counts"] == counts
    assert report["splits"]["train"]["n"] == 20_096 and report["fingerprint"].startswith("sha256:")


def test_split_seed_is_its_own_and_splits_are_disjoint():
    data = load_data(SAMPLE)
    a, b, c = (study_splits(data, seed) for seed in (1, 1, 2))
    assert np.array_equal(a["validation"].indices, b["validation"].indices)
    assert not np.array_equal(a["validation"].indices, c["validation"].indices)
    assert not set(a["train"].indices) & set(a["validation"].indices)
    assert set(a["train"].indices) | set(a["validation"].indices) == set(data.indices("Training"))
    x = a["train"].x(data)
    assert x.dtype == np.float32 and x.shape == (210, 48, 48, 1) and x.min() >= 0.0 and x.max() <= 1.0


def test_subsets_are_stratified_and_fixed():
    data = load_data(SAMPLE)
    small = study_splits(data, 7, max_train_samples=70, max_eval_samples=35)
    again = study_splits(data, 7, max_train_samples=70, max_eval_samples=35)
    assert [len(s.indices) for s in small.values()] == [70, 35, 35, 35]
    assert np.array_equal(small["train"].indices, again["train"].indices)
    assert len(np.unique(data.labels[small["train"].indices])) == 7


def test_same_images_in_any_form_share_fingerprint_and_split(tmp_path):
    rows = sample_rows()
    plain = write_csv(tmp_path / "plain.csv", rows)
    shuffled = [rows[0], *np.random.default_rng(0).permutation(rows[1:]).tolist()]
    reordered = write_csv(tmp_path / "reordered.csv", shuffled)
    a, b, c = load_data(SAMPLE), load_data(plain), load_data(reordered)
    assert a.fingerprint == b.fingerprint == c.fingerprint
    assert (a.format, b.format) == ("csv.gz", "csv")
    split_a, split_c = study_splits(a, 3)["validation"], study_splits(c, 3)["validation"]
    assert sorted(a.digests[split_a.indices].tolist()) == sorted(c.digests[split_c.indices].tolist())


def write_folders(root, data, names=ALPHABETICAL, suffix=".png"):
    from PIL import Image

    for i in range(len(data.labels)):
        usage = USAGES[data.usage[i]]
        folder = root / ("train" if usage == "Training" else "test") / names[_alpha(data.labels[i])]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(data.pixels[i]).save(folder / f"{usage}_{i}{suffix}")


def _alpha(label: int) -> int:
    return ALPHABETICAL.index(EMOTIONS[label].lower())


def test_image_folders_map_to_canonical_labels(tmp_path):
    data = load_data(SAMPLE)
    write_folders(tmp_path / "fer", data, names=[n.upper() for n in ALPHABETICAL])
    folders = load_data(tmp_path / "fer")
    assert folders.format == "folders"
    assert folders.fingerprint == data.fingerprint  # same pixels, labels and splits as the CSV
    sad = EMOTIONS.index("Sad")
    assert sad == 4 and np.sum(folders.labels == sad) == np.sum(data.labels == sad)


def test_changing_one_pixel_rebuilds_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("FER_BENCH_CACHE", str(tmp_path / "cache"))
    rows = sample_rows()
    source = write_csv(tmp_path / "copy.csv", rows)
    first = load_data(source)
    assert not first.from_cache and load_data(source).from_cache
    fields = rows[5].split(b",")
    pixels = fields[1].split(b" ")
    pixels[0] = b"0" if pixels[0] != b"0" else b"1"
    rows[5] = b",".join([fields[0], b" ".join(pixels), fields[2]])
    write_csv(source, rows)
    changed = load_data(source)
    assert not changed.from_cache and changed.fingerprint != first.fingerprint


def bad_csv(tmp_path, mutate) -> str:
    rows = sample_rows()[:20]
    rows = mutate(rows) or rows
    path = write_csv(tmp_path / "bad.csv", rows)
    with pytest.raises(UserError) as info:
        load_data(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    return message


def test_row_with_2303_pixels(tmp_path):
    def cut(rows):
        label, pixels, usage = rows[3].split(b",")
        rows[3] = b",".join([label, pixels.rsplit(b" ", 1)[0], usage])
    assert "line 4: 2303 pixels, expected 2304" in bad_csv(tmp_path, cut)


def test_label_outside_range(tmp_path):
    def seven(rows):
        rows[2] = b"7" + rows[2][1:]
    assert "line 3: emotion '7' is not one of 0..6" in bad_csv(tmp_path, seven)


def test_unknown_usage(tmp_path):
    def usage(rows):
        rows[2] = rows[2].rsplit(b",", 1)[0] + b",Validation"
    assert "line 3: Usage 'Validation' is not one of" in bad_csv(tmp_path, usage)


def test_wrong_columns(tmp_path):
    def header(rows):
        rows[0] = b"label,image,split"
    assert "line 1: columns are" in bad_csv(tmp_path, header)


def test_non_numeric_and_non_utf8_pixels(tmp_path):
    def junk(rows):
        label, pixels, usage = rows[6].split(b",")
        rows[6] = b",".join([label, pixels.replace(b"1", b"\xe9", 1), usage])
    assert "line 7: pixels must be 2304 integers" in bad_csv(tmp_path, junk)


def test_pixel_out_of_range(tmp_path):
    def big(rows):
        label, pixels, usage = rows[9].split(b",")
        rows[9] = b",".join([label, b"300" + pixels[pixels.index(b" "):], usage])
    assert "line 10: pixel values must be 0..255" in bad_csv(tmp_path, big)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "cut.csv.gz"
    path.write_bytes(SAMPLE.read_bytes()[:50_000])
    with pytest.raises(UserError, match="not a complete gzip file"):
        load_data(path)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(UserError, match="no such file"):
        load_data(tmp_path / "nope.csv")
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(UserError, match="unknown data format"):
        load_data(tmp_path / "data.txt")


def test_folder_defects(tmp_path):
    from PIL import Image

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no images found"):
        load_data(empty)
    odd = tmp_path / "odd" / "train" / "cats"
    odd.mkdir(parents=True)
    Image.new("L", (48, 48)).save(odd / "Training_1.png")
    with pytest.raises(UserError, match="folders cats are no FER-2013 class"):
        load_data(tmp_path / "odd")
    big = tmp_path / "big" / "train" / "happy"
    big.mkdir(parents=True)
    Image.new("L", (64, 48)).save(big / "Training_1.png")
    with pytest.raises(UserError, match="image is 64x48, expected 48x48"):
        load_data(tmp_path / "big")
    broken = tmp_path / "broken" / "test" / "sad"
    broken.mkdir(parents=True)
    (broken / "PublicTest_1.jpg").write_bytes(b"not a jpeg")
    with pytest.raises(UserError, match="unreadable image"):
        load_data(tmp_path / "broken")


def test_colour_images_become_grey(tmp_path):
    from PIL import Image

    folder = tmp_path / "c" / "test" / "fear"
    folder.mkdir(parents=True)
    Image.new("RGB", (48, 48), (255, 0, 0)).save(folder / "PrivateTest_1.png")
    data = load_data(tmp_path / "c")
    assert data.pixels.shape == (1, 48, 48) and int(data.pixels[0, 0, 0]) == 76  # ITU-R 601 luma of red
    assert USAGES[data.usage[0]] == "PrivateTest" and EMOTIONS[data.labels[0]] == "Fear"


def test_blurred_split_is_flagged(tmp_path):
    from PIL import Image, ImageFilter

    data = load_data(SAMPLE)
    training = data.indices("Training")
    for i in training:
        blurred = Image.fromarray(data.pixels[i]).filter(ImageFilter.GaussianBlur(2))
        data.pixels[i] = np.asarray(blurred)
    warnings = sanity_warnings(describe_splits(data))
    assert warnings and all(w.startswith("Training looks different") for w in warnings)


def test_data_source_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("FER_BENCH_DATA", str(tmp_path / "env.csv"))
    assert resolve_data_path("flag.csv", "sample") == resolve_data_path("flag.csv")
    assert resolve_data_path(None, "sample") == SAMPLE
    assert resolve_data_path(None, "rel.csv", tmp_path) == tmp_path / "rel.csv"
    assert resolve_data_path(None, None) == tmp_path / "env.csv"
    monkeypatch.delenv("FER_BENCH_DATA")
    assert resolve_data_path(None, None) == SAMPLE


def test_cache_survives_an_unwritable_cache_dir(tmp_path, monkeypatch, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("FER_BENCH_CACHE", str(blocker / "cache"))
    source = shutil.copy(SAMPLE, tmp_path / "s.csv.gz")
    assert load_data(source).pixels.shape[0] == 500
    assert "could not cache" in capsys.readouterr().err


def test_compact_copy_round_trips_with_the_same_fingerprint(tmp_path):
    import subprocess
    import sys

    from conftest import REPO

    for step in (["pack", SAMPLE, tmp_path / "packed"], ["unpack", tmp_path / "packed", tmp_path / "fer.npz"]):
        subprocess.run([sys.executable, "scripts/compact_data.py", *map(str, step)], cwd=REPO, check=True,
                       capture_output=True, env={**__import__("os").environ, "PYTHONPATH": str(REPO)})
    compact = load_data(tmp_path / "fer.npz")
    assert compact.format == "npz" and compact.fingerprint == load_data(SAMPLE).fingerprint


@pytest.mark.parametrize("arrays, message", [
    ({"pixels": np.zeros((2, 48, 48), np.uint8), "labels": np.zeros(2)}, "missing arrays usage"),
    ({"pixels": np.zeros((2, 48, 47), np.uint8), "labels": np.zeros(2), "usage": np.zeros(2)},
     "pixels must be uint8 of shape (N, 48, 48)"),
    ({"pixels": np.zeros((2, 48, 48), np.uint8), "labels": np.array([0, 7]), "usage": np.zeros(2)},
     "labels must be 2 integers in 0..6"),
])
def test_bad_npz(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(UserError, match=re.escape(message)):
        load_data(tmp_path / "bad.npz")


def test_source_summary_is_cached_per_fingerprint_and_rebuilt_when_damaged(tmp_path, monkeypatch):
    from fer_bench.scheduling.plan import source_summary

    monkeypatch.setenv("FER_BENCH_CACHE", str(tmp_path))
    data = load_data(SAMPLE)
    fresh = describe_splits(data)
    assert source_summary(data) == fresh
    (cached,) = tmp_path.glob("summary-*.json")
    assert data.fingerprint.rsplit(":", 1)[-1] in cached.name and json.loads(cached.read_text()) == fresh
    cached.write_text("{not json")
    assert source_summary(data) == fresh and json.loads(cached.read_text()) == fresh
