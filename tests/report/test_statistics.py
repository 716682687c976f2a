"""The report's statistics on made records of known structure: all pairs corrected, power, variance sources."""

import copy
import json
import math

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.power import TTestIndPower, TTestPower

from fer_bench.report.pairs import all_pairs
from fer_bench.report.power import _detectable, _power_function, _seeds_needed, power_of
from fer_bench.report.variance import components, design_variant


def family(shifts: dict[str, float], seeds: int = 5, noise: float = 0.01, seed: int = 6) -> pd.DataFrame:
    """Variants measured over the same seeds, each value its variant's shift plus independent noise."""
    rng = np.random.default_rng(seed)
    return pd.DataFrame([{"variant": name, "seed": s, "status": "complete",
                          "val_accuracy": 0.6 + shift + rng.normal(0, noise)}
                         for name, shift in shifts.items() for s in range(seeds)])


def test_21_pairs_of_identical_variants_give_no_corrected_difference_and_a_real_one_still_shows():
    """Seven variants of one distribution: 21 pairs. With this seed five raw p-values fall under 0.05,
    the chance findings the correction is for; Holm leaves none. Shift one variant by 8 points (8 standard
    deviations) and its six pairs still come out beyond noise after the correction."""
    same = all_pairs(family({f"v{i}": 0.0 for i in range(7)}), "val_accuracy")
    assert len(same) == 21 and all(p.test == "paired t-test over seeds" for p in same)
    assert sum(p.p_value < 0.05 for p in same) == 5
    assert not any(p.significant for p in same)
    assert all(p.p_corrected >= p.p_value for p in same)
    real = all_pairs(family({**{f"v{i}": 0.0 for i in range(6)}, "better": 0.08}), "val_accuracy")
    found = [p for p in real if p.significant]
    assert {p.a for p in found} == {"better"} and len(found) == 6
    assert all(p.effect > 2 for p in found)


@pytest.mark.parametrize("n", [3, 5, 10])
@pytest.mark.parametrize("effect", [0.4, 1.0, 2.5])
def test_power_agrees_with_statsmodels(n, effect):
    paired, independent = _power_function(True), _power_function(False)
    assert paired(effect, n) == pytest.approx(TTestPower().power(effect, n, 0.05))
    assert independent(effect, n) == pytest.approx(TTestIndPower().power(effect, n, 0.05, ratio=1.0))
    assert _detectable(paired, n) == pytest.approx(TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8),
                                                   rel=1e-6)
    assert _seeds_needed(paired, effect) == max(2, math.ceil(TTestPower().solve_power(effect_size=effect,
                                                                                      alpha=0.05, power=0.8)))
    assert _seeds_needed(independent, effect) == max(2, math.ceil(
        TTestIndPower().solve_power(effect_size=effect, alpha=0.05, power=0.8)))


def test_power_where_statsmodels_gives_up():
    """A clear difference over three seeds: statsmodels' TTestPower says 0 there (SciPy's survival function
    is NaN at that noncentrality); the power is in fact near 1, and two seeds fall short of 80%."""
    paired = _power_function(True)
    assert TTestPower().power(7.3, 3, 0.05) == 0 or math.isnan(TTestPower().power(7.3, 3, 0.05))
    assert paired(7.3, 3) > 0.999 and 0.5 < paired(7.3, 2) < 0.8 and _seeds_needed(paired, 7.3) == 3


def test_a_comparisons_power_comes_from_its_observed_spread():
    a = pd.Series([0.60, 0.61, 0.62], index=[0, 1, 2])
    b = pd.Series([0.595, 0.600, 0.612], index=[0, 1, 2])
    power = power_of(a, b)
    diffs = (a - b).to_numpy()
    assert power.design == "paired" and power.n == 3 and power.spread == pytest.approx(np.std(diffs, ddof=1))
    assert power.detectable == pytest.approx(TTestPower().solve_power(nobs=3, alpha=0.05, power=0.8) * power.spread,
                                             rel=1e-6)
    assert power.seeds_needed == math.ceil(TTestPower().solve_power(effect_size=diffs.mean() / power.spread,
                                                                    alpha=0.05, power=0.8))
    b.index = [10, 11, 12]  # other seeds: independent samples
    assert power_of(a, b).design == "independent"
    assert "smallest difference found 80% of the time" in power.sentence()


def made_design(splits: int, seeds: int, split_sd: float, seed_sd: float, crossed: bool = True) -> pd.DataFrame:
    """Runs of one variant: accuracy = 0.6 + the split's effect + the seed's noise, of known sizes."""
    rng = np.random.default_rng(1)
    rows = []
    for split in range(splits):
        effect = rng.normal(0, split_sd)
        for seed in range(seeds):
            rows.append({"spec": "s", "variant": f"dropout-0_split_seed-{split}", "status": "complete",
                         "seed": seed if crossed else split * seeds + seed, "split_seed": split,
                         "val_accuracy": 0.6 + effect + rng.normal(0, seed_sd)})
    return pd.DataFrame(rows)


@pytest.mark.parametrize(("split_sd", "seed_sd"), [(0.02, 0.005), (0.006, 0.015)])
def test_a_split_effect_and_a_seed_effect_of_known_sizes_are_recovered(split_sd, seed_sd):
    (row,) = components(made_design(100, 5, split_sd, seed_sd), "val_accuracy")
    assert row["variant"] == "dropout-0" and row["runs"] == 500 and row["splits"] == 100 and row["seeds"] == 5
    assert row["design"] == "crossed"
    assert row["split_sd"] == pytest.approx(split_sd, rel=0.25) and row["seed_sd"] == pytest.approx(seed_sd, rel=0.1)
    share = split_sd**2 / (split_sd**2 + seed_sd**2)
    assert row["split_share"] == pytest.approx(share, abs=0.1)


def test_designs_that_cannot_separate_the_sources_say_so():
    nested = components(made_design(6, 2, 0.01, 0.01, crossed=False), "val_accuracy")
    assert nested[0]["design"] == "nested" and nested[0]["split_sd"] is not None
    per_seed = made_design(6, 1, 0.01, 0.01, crossed=False)
    (row,) = components(per_seed, "val_accuracy")
    assert row["design"] == "per seed" and row["split_sd"] is None and row["total_sd"] > 0
    assert components(made_design(1, 5, 0.01, 0.01), "val_accuracy") == []  # one split: all spread is the seed's
    assert design_variant("split_seed-3") == "base" and design_variant("lr-0.1_split_seed-2_b") == "lr-0.1_b"


CROSSED = """name: crossed
dataset: {source: sample}
model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}
seeds: 2
sweep:
  grid:
    model.params.dropout: [0.0, 0.25]
    dataset.split_seed: [1, 2, 3]
"""


def test_the_report_decomposes_a_crossed_design_and_lists_every_pair_corrected(tmp_path):
    """Made records of 2 dropouts x 3 splits x 2 seeds (from a committed record, as made_results does):
    the report shows each dropout's split and seed spread, and every pair of its 6 variants (3 splits of
    each dropout: split-sweep variants are variants of their own in the tables) with Holm's correction."""
    from conftest import call_main, write
    from made_results import TEMPLATES

    from fer_bench.spec.load import load_spec
    from fer_bench.spec.trials import Overrides, expand

    loaded = load_spec(write(tmp_path / "crossed.yaml", CROSSED))
    template = json.loads(next(TEMPLATES.glob("*/record.json")).read_text())
    rng = np.random.default_rng(3)
    split_effect = {1: 0.02, 2: -0.015, 3: -0.005}
    for trial in expand(loaded, Overrides()):
        record = copy.deepcopy(template)
        record.update(spec="crossed", variant=trial.variant, params=trial.params, seed=trial.seed, config=trial.config,
                      spec_content=loaded.text)
        record["data"].update(split_seed=trial.split_seed, path=str(tmp_path / "none.csv.gz"))
        record["trial_id"] = trial.trial_id(record["data"]["fingerprint"])
        value = 0.5 + split_effect[trial.split_seed] + rng.normal(0, 0.004)
        record["metrics"].update(val_accuracy=value, public_test_accuracy=value, private_test_accuracy=value)
        write(tmp_path / "out" / "crossed" / record["trial_id"] / "record.json", json.dumps(record))
    result = call_main("report", tmp_path / "out", "-o", tmp_path / "r.md")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "r.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith(("| dropout-0 | validation accuracy |",
                                                                   "| dropout-0.25 | validation accuracy |"))]
    assert len(rows) == 2 and all("| 6 | 3 | 2 | crossed |" in row for row in rows), rows
    assert "Holm-corrected over 15 pairs" in text
    # the splits' effects (1.5-2 points) outweigh the seeds' (0.4): REML over 3 splits puts 74-83% on them
    assert all(float(row.split(" | ")[-1].rstrip("% |")) > 60 for row in rows)


def test_compare_corrects_over_a_specs_variants_so_its_gate_does_not_fail_on_chance():
    """Two runs of 7 variants from one distribution: one variant's own test says "worse" (p < 0.05 with
    this seed), the corrected one does not, so no gate trips; a real 5-point drop of one variant still does."""
    from fer_bench.report.compare import compare

    def side(rng, drop=0.0):
        return pd.DataFrame([{"spec": "f", "variant": f"v{v}", "seed": s, "status": "complete",
                              **dict.fromkeys(("val_accuracy", "public_test_accuracy", "private_test_accuracy"),
                                              0.6 + rng.normal(0, 0.01) - (drop if v == 3 else 0.0))}
                             for v in range(7) for s in range(5)])

    rng = np.random.default_rng(1)
    rows = compare(side(rng), side(rng), 0.0, False)
    chance = [r for r in rows if r.metric == "val_accuracy" and r.p_raw < 0.05 and r.change < 0]
    assert len(chance) == 1 and chance[0].p_value >= 0.05 and chance[0].verdict == "within noise"
    assert not any(r.gate for r in rows)
    rng = np.random.default_rng(1)
    rows = compare(side(rng), side(rng, drop=0.05), 0.0, False)
    assert {(r.variant, r.verdict) for r in rows if r.gate} == {("v3", "worse")}


def test_list_says_what_its_seeds_could_tell_apart_from_earlier_records():
    """`fer-bench list` over the committed H100 dropout records: the seed-to-seed spread and the smallest
    difference 3 seeds a variant would find, before anything trains."""
    from conftest import REPO, call_main

    from fer_bench.report.power import _detectable, _power_function

    out = REPO / "results" / "reference" / "h100-jax"
    listed = call_main("list", "dropout", "--out", out, "--data", REPO / "fer_bench/sample/fer2013-sample.csv.gz")
    assert listed.returncode == 0, listed.stderr
    records = [json.loads(p.read_text()) for p in (out / "dropout").glob("*/record.json")]
    by_variant = {}
    for r in records:
        by_variant.setdefault(r["variant"], []).append(r["metrics"]["val_accuracy"])
    spread = float(np.median([np.std(v, ddof=1) for v in by_variant.values()]))
    detectable = _detectable(_power_function(False), 3) * spread
    assert (f"9 earlier runs here: validation accuracy varies by {spread * 100:.2f} points (sd, median over 3 "
            f"variants) from seed to seed; with 3 seeds a variant, two variants must differ by about "
            f"{detectable * 100:.2f} points") in listed.stdout


def test_compare_judges_lower_is_better_scores_the_other_way_and_gates_on_them():
    """`compare --metric ece`: a candidate whose calibration error fell is better; one whose error rose beyond
    the threshold trips the gate. Accuracy is judged as before."""
    from fer_bench.report.compare import compare

    def side(ece, accuracy):
        rows = []
        for seed, (e, a) in enumerate(zip(ece, accuracy)):
            row = {"spec": "s", "variant": "v", "seed": seed, "status": "complete"}
            for split in ("val", "public_test", "private_test"):
                row.update({f"{split}_ece": e, f"{split}_accuracy": a})
            rows.append(row)
        return pd.DataFrame(rows)

    base = side([0.10, 0.11, 0.12, 0.10], [0.50, 0.51, 0.50, 0.52])
    calibrated = side([0.02, 0.03, 0.025, 0.02], [0.40, 0.41, 0.40, 0.42])
    ece = compare(base, calibrated, 0.0, False, "ece")
    assert {r.verdict for r in ece} == {"better"} and not any(r.gate for r in ece)
    assert {r.metric for r in ece} == {"val_ece", "public_test_ece", "private_test_ece"}
    accuracy = compare(base, calibrated, 0.0, False)
    assert {r.verdict for r in accuracy} == {"worse"} and all(r.gate for r in accuracy)
    back = compare(calibrated, base, 0.05, False, "ece")  # the error rose by 8 points, past a 5-point threshold
    assert {r.verdict for r in back} == {"worse"} and all(r.gate for r in back)
    assert not any(r.gate for r in compare(calibrated, base, 0.10, False, "ece"))
