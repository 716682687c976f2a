"""training.mixed_precision: auto: bfloat16 where the device computes it natively, the reason recorded."""

import json

import pytest
from conftest import call_main, one_epoch_spec, write

from fer_bench.records import iter_records
from fer_bench.training.precision import CPU_BF16_FLAGS, choose, cpu_flags

CPU = {"kind": "cpu", "name": "some CPU", "count": 2}


def test_a_policy_asked_for_is_the_policy_trained_in():
    assert choose(None, "tensorflow", CPU, frozenset()) == {"asked": "float32", "chosen": "float32",
                                                            "reason": "as asked", "decided_by": None}
    assert choose("mixed_float16", "jax", CPU, frozenset({"amx_bf16"}))["chosen"] == "mixed_float16"


def test_auto_on_a_cpu_follows_its_bfloat16_flags_and_the_backend():
    amx = choose("auto", "tensorflow", CPU, frozenset({"fpu", "avx512_bf16", "amx_bf16"}))
    assert amx["chosen"] == "mixed_bfloat16" and amx["decided_by"] == "amx_bf16"
    assert "amx_bf16, avx512_bf16" in amx["reason"]
    assert choose("auto", "tensorflow", CPU, frozenset({"avx512_bf16"}))["decided_by"] == "avx512_bf16"
    plain = choose("auto", "tensorflow", CPU, frozenset({"avx2", "avx512f"}))
    assert plain["chosen"] == "float32" and plain["decided_by"] is None and "neither" in plain["reason"]
    jax = choose("auto", "jax", CPU, frozenset({"amx_bf16"}))
    assert jax["chosen"] == "float32" and jax["decided_by"] == "amx_bf16" and "jax" in jax["reason"]


@pytest.mark.parametrize(("capability", "chosen"), [("9.0", "mixed_bfloat16"), ("8.0", "mixed_bfloat16"),
                                                    ("7.5", "float32"), (None, "float32")])
def test_auto_on_a_gpu_follows_its_compute_capability(capability, chosen):
    card = {"kind": "gpu", "name": "NVIDIA H200", "count": 1, **({"compute_capability": capability}
                                                                  if capability else {})}
    decided = choose("auto", "jax", card, frozenset({"amx_bf16"}))  # the host's CPU does not matter
    assert decided["chosen"] == chosen and "NVIDIA H200" in decided["decided_by"]


def test_cpu_flags_are_read_from_the_kernels_cpuinfo(tmp_path):
    fake = write(tmp_path / "cpuinfo", "processor\t: 0\nmodel name\t: X\nflags\t\t: fpu avx512_bf16 sse\n\n"
                                       "processor\t: 1\nflags\t\t: fpu avx512_bf16 sse\n")
    assert cpu_flags.__wrapped__(str(fake)) == {"fpu", "avx512_bf16", "sse"}
    assert cpu_flags.__wrapped__(str(tmp_path / "none")) == frozenset()


@pytest.mark.slow
def test_run_with_precision_auto_records_the_choice_and_float32_keeps_the_trial_id(tmp_path):
    spec = one_epoch_spec(tmp_path / "p.yaml")
    here = sorted(set(CPU_BF16_FLAGS) & cpu_flags())
    for flags in ([], ["--precision", "float32"], ["--precision", "auto"]):
        result = call_main("run", spec, "--out", tmp_path / "out", *flags)
        assert result.returncode == 0, result.stderr[-2000:]
    assert f"precision auto: {'mixed_bfloat16' if here else 'float32'} (" in result.stdout
    records = {r["overrides"].get("precision"): r for _, r in iter_records(tmp_path / "out")}
    assert set(records) == {None, "auto"}, json.dumps(list(records))  # --precision float32 is the default's trial
    assert records[None]["precision"] == {"asked": "float32", "chosen": "float32", "reason": "as asked",
                                          "decided_by": None}
    auto = records["auto"]
    assert auto["config"]["training"]["mixed_precision"] == "auto" and auto["status"] == "complete"
    assert auto["precision"]["chosen"] == ("mixed_bfloat16" if here else "float32")
    assert auto["precision"]["decided_by"] == (([f for f in CPU_BF16_FLAGS if f in here] or [None])[0])
    assert auto["trial_id"] != records[None]["trial_id"]
