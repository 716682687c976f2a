"""Results directories for rendering tests, made without training: committed reference records given the
variants, parameters and ids that a spec's own expansion makes, and chosen scores."""

import copy
import json
from pathlib import Path

from conftest import REPO, write

from fer_bench.spec.load import load_spec
from fer_bench.spec.trials import Overrides, expand

TEMPLATES = REPO / "results" / "reference" / "cpu-small-cnn" / "small_cnn"
TINY = "model: {params: {conv_filters: [8, 16], conv_kernels: [3, 3], dense_units: [16]}}\n"

# The grid: batch sizes whose labels sort differently as strings, as numbers and as listed.
ORDER = """name: order
dataset: {source: sample}
""" + TINY + """training: {epochs: 1}
seeds: 2
sweep:
  variants:
    - {name: sgd, set: {training.optimizer.name: sgd}}
    - {name: adam, set: {training.optimizer.name: adam}}
  grid:
    training.batch_size: [32, 64, 128]
"""
ORDER_VARIANTS = ["sgd_batch_size-32", "sgd_batch_size-64", "sgd_batch_size-128",
                  "adam_batch_size-32", "adam_batch_size-64", "adam_batch_size-128"]

# Values listed out of numeric order: the listing wins. The name's dot is dropped from its Markdown anchor.
LISTED = """name: Listed.v2
dataset: {source: sample}
""" + TINY + """seeds: 2
sweep:
  grid:
    model.params.dropout: [0.5, 0.0, 0.25]
"""
LISTED_VARIANTS = ["dropout-0.5", "dropout-0", "dropout-0.25"]

# Records whose spec text is gone (as `fer-bench evaluate` writes them): natural order, not the listing.
UNREAD = """name: unread
dataset: {source: sample}
""" + TINY + """seeds: 2
sweep:
  grid:
    training.batch_size: [128, 32, 64]
"""
UNREAD_VARIANTS = ["batch_size-32", "batch_size-64", "batch_size-128"]

# Per spec, the mean validation accuracy of each variant in the spec's order; the seeds sit 6 points on
# either side, so the two-seed t-interval runs past both 0% and 100%.
MEANS = {"order": [0.30, 0.36, 0.33, 0.31, 0.32, 0.34], "Listed.v2": [0.25, 0.40, 0.35], "unread": [0.30, 0.28, 0.29]}
SPREAD = 0.06


def make_results(root: Path, specs_dir: Path) -> Path:
    """One results directory with the three specs' records."""
    for name, text in (("order", ORDER), ("listed", LISTED), ("unread", UNREAD)):
        write_spec_records(root, write(specs_dir / f"{name}.yaml", text), keep_text=name != "unread")
    return root


def write_spec_records(root: Path, spec_file: Path, keep_text: bool) -> None:
    loaded = load_spec(spec_file)
    templates = {r["seed"]: r for r in (json.loads(p.read_text()) for p in TEMPLATES.glob("*/record.json"))}
    trials = expand(loaded, Overrides())
    labels = list(dict.fromkeys(t.variant for t in trials))
    for trial in trials:
        record = copy.deepcopy(templates[trial.seed])
        record.update(spec=loaded.spec.name, variant=trial.variant, params=trial.params, seed=trial.seed,
                      config=trial.config, spec_content=loaded.text if keep_text else "")
        record["data"]["path"] = str(root / "no-such-data.csv.gz")  # figures drawn from the data are left out
        record["trial_id"] = trial.trial_id(record["data"]["fingerprint"])
        mean = MEANS[loaded.spec.name][labels.index(trial.variant)]
        val = mean + (SPREAD if trial.seed else -SPREAD) + 0.002 * labels.index(trial.variant) * trial.seed
        record["metrics"].update(val_accuracy=val, public_test_accuracy=val - 0.01, private_test_accuracy=val + 0.01)
        path = root / loaded.spec.name / record["trial_id"] / "record.json"
        path.parent.mkdir(parents=True)
        path.write_text(json.dumps(record))


def made_records(root: Path, spec_text: str):
    """(trial, record) per trial of a spec written to ROOT: a committed reference record made that trial's
    (variant, parameters, seed, config, id), its scores still the template's, for the caller to set."""
    loaded = load_spec(write(root / "spec.yaml", spec_text))
    template = json.loads(next(TEMPLATES.glob("*/record.json")).read_text())
    for trial in expand(loaded, Overrides()):
        record = copy.deepcopy(template)
        record.update(spec=loaded.spec.name, variant=trial.variant, params=trial.params, seed=trial.seed,
                      config=trial.config, spec_content=loaded.text)
        record["trial_id"] = trial.trial_id(record["data"]["fingerprint"])
        record["data"]["path"] = str(root / "no-such-data.csv.gz")
        yield trial, record
