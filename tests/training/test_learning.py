"""The whole line learns: a small CNN on the full real train split beats the majority class clearly."""

import json

import pytest
from conftest import call_main, write

MAJORITY_PUBLIC_TEST = 0.249


@pytest.mark.real_data
@pytest.mark.slow
def test_small_cnn_learns_on_the_full_train_split(real_data, tmp_path):
    """The whole train split, 2 epochs: the least that learns clearly here. A 16-32-64 CNN at rate 1e-3
    and batch 32 reached 0.427-0.449 PublicTest and PrivateTest over seeds 0-2 on an Intel Xeon host
    (fit 30-32 s). Batch 64 was 15 % quicker but too close to the line: 0.350-0.396 over the same seeds
    there (0.378 for seed 0 on an AMD EPYC host), and seed 0 failed the 0.35 asserted."""
    spec = write(tmp_path / "learn.yaml", """
name: learn
model:
  params: {conv_filters: [16, 32, 64], conv_kernels: [3, 3, 3], dense_units: [64]}
training: {epochs: 2, batch_size: 32, optimizer: {learning_rate: 1.0e-3}}
seeds: 1
""")
    result = call_main("run", spec, "--data", real_data, "--out", tmp_path / "out", "--quiet")
    assert result.returncode == 0, result.stderr
    (record_path,) = (tmp_path / "out" / "learn").glob("*/record.json")
    record = json.loads(record_path.read_text())
    assert record["data"]["n"] == {"train": 20096, "validation": 8613, "public_test": 3589, "private_test": 3589}
    assert record["metrics"]["public_test_accuracy"] >= 0.35 > MAJORITY_PUBLIC_TEST
    assert record["metrics"]["private_test_accuracy"] >= 0.35
