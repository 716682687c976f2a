from pathlib import Path

import pytest
from conftest import REPO, write

from fer_bench.errors import UserError
from fer_bench.spec.load import load_spec
from fer_bench.spec.trials import Overrides, expand

SHIPPED = sorted((REPO / "benchmark").glob("*.yaml"))


def spec(tmp_path, text: str) -> Path:
    return write(tmp_path / "spec.yaml", text)


def error_of(tmp_path, text: str) -> str:
    with pytest.raises(UserError) as info:
        load_spec(spec(tmp_path, text))
    message = str(info.value)
    assert "\n" not in message and message.startswith(str(tmp_path / "spec.yaml"))
    return message


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_specs_validate(path):
    loaded = load_spec(path)
    assert expand(loaded, Overrides()) or loaded.spec.search.grid_size() > 0


def test_shipped_families_have_the_studys_trials():
    counts = {p.stem: len(expand(load_spec(p), Overrides())) for p in SHIPPED}
    assert counts["dropout"] == 9 and counts["loss"] == 6 and counts["depth"] == 6
    assert counts["learning_rate"] == 12 and counts["baseline"] == 3
    filters = {tuple(t.params["model.params.conv_filters"]) for t in expand(load_spec(REPO / "benchmark/filters.yaml"),
                                                                              Overrides())}
    assert {(64, 128, 512, 512), (64, 128, 1028, 512), (64, 128, 1024, 512), (64, 256, 256, 512)} <= filters


def test_defaults_are_the_studys_recipe(tmp_path):
    config = expand(load_spec(spec(tmp_path, "name: x\nseeds: 1\n")), Overrides())[0].config
    training = config["training"]
    assert config["model"]["params"]["conv_filters"] == [64, 128, 512, 512]
    assert training["optimizer"] == {"name": "adam", "learning_rate": 5e-4, "momentum": 0.0, "nesterov": False,
                                     "weight_decay": None}
    assert training["callbacks"]["reduce_lr_on_plateau"] == {"monitor": "val_loss", "factor": 0.1, "patience": 2,
                                                             "min_lr": 1e-5}
    assert training["batch_size"] == 64 and training["augmentation"]["horizontal_flip"] is True


@pytest.mark.parametrize("text, expected", [
    ("name: x\ntraning: {}\n", "traning: unknown key; did you mean 'training'?"),
    ("name: x\ntraining: {epochs: many}\n", "training.epochs: Input should be a valid integer"),
    ("name: x\ntraining: {epochs: 0}\n", "training.epochs: Input should be greater than 0"),
    ("name: x\nmodel: {params: {dropout: 1.0}}\n", "model.params.dropout: Input should be less than 1"),
    ("name: x\nmodel: {params: {dropout: -0.1}}\n", "model.params.dropout: Input should be greater than or equal to 0"),
    ("name: x\nmodel: {params: {conv_filters: []}}\n", "model.params.conv_filters: List should have at least 1"),
    ("name: x\nmodel: {params: {conv_filters: [64, 0, 3, 3]}}\n", "model.params.conv_filters[1]: Input should be"),
    ("name: x\nmodel: {params: {conv_filters: [64, 128]}}\n", "conv_kernels has 4 entries but conv_filters has 2"),
    ("name: x\nmodel: {params: {dropuot: 0.1}}\n", "model.params.dropuot: unknown key; did you mean 'dropout'?"),
    ("name: x\nmodel: {builder: resnet}\n", "model.builder: unknown builder 'resnet'; allowed: cnn"),
    ("name: x\ntraining: {optimizer: {name: adamax}}\n", "training.optimizer.name: Input should be 'adam'"),
    ("name: x\ntraining: {loss: hinge}\n", "training.loss: Input should be 'categorical_crossentropy'"),
    ("name: x\ntraining: {callbacks: {cosine: {}}}\n", "training.callbacks.cosine: unknown key"),
    ("name: x\ntraining: {optimizer: {name: adam, momentum: 0.9}}\n", "momentum applies to sgd and rmsprop only"),
    ("name: ../../etc\n", "name: must be 1-64 letters"),
    ("name: x\nsweep: {grid: {model.params.dropout: []}}\n", "empty list of values"),
    ("name: x\nsweep: {grid: {model.params.dropuot: [0.1]}}\n", "no key 'dropuot' in model.params; did you mean"),
    ("name: x\nsweep: {grid: {seeds: [1, 2]}}\n", "'seeds' cannot be swept"),
    ("name: x\nsweep: {grid: {model.params.dropout: [0.2, 1.5]}}\n",
     "sweep.grid model.params.dropout=1.5: model.params.dropout: Input should be less than 1"),
    ("name: x\nsweep: {grid: {training.callbacks.early_stopping.patience: [1]}}\n", "enable it with a mapping first"),
    ("name: x\nseeds: [1, 1]\n", "seeds"),
    ("- a\n- b\n", "a spec is a YAML mapping"),
    ("description: no name\n", "name: required key is missing"),
    ("name: x\nmodel: {params: {conv_filters: [8, 8, 8, 8, 8, 8, 8], conv_kernels: [3, 3, 3, 3, 3, 3, 3]}}\n",
     "too small"),
])
def test_bad_specs_get_one_line_naming_the_key(tmp_path, text, expected):
    assert expected in error_of(tmp_path, text)


def test_learning_rates_in_exponent_form_are_numbers(tmp_path):
    loaded = load_spec(spec(tmp_path, "name: x\ntraining: {optimizer: {learning_rate: 5e-3}}\n"))
    assert loaded.spec.training.optimizer.learning_rate == 0.005


def test_grid_times_variants_times_seeds(tmp_path):
    text = """
name: x
seeds: 2
sweep:
  grid:
    model.params.dropout: [0.0, 0.5]
    training.batch_size: [32, 64, 128]
  variants:
    - {name: plain, set: {training.callbacks.reduce_lr_on_plateau: null}}
    - {name: plateau, set: {}}
"""
    trials = expand(load_spec(spec(tmp_path, text)), Overrides())
    assert len(trials) == 2 * 2 * 3 * 2
    plain = [t for t in trials if t.variant.startswith("plain")]
    assert all(t.config["training"]["callbacks"]["reduce_lr_on_plateau"] is None for t in plain)
    assert trials[0].variant == "plain_dropout-0_batch_size-32" and trials[0].seed == 0
    assert len({t.trial_id("sha256:a") for t in trials}) == len(trials)


def test_trial_ids_change_with_everything_that_changes_the_result(tmp_path):
    loaded = load_spec(spec(tmp_path, "name: x\nseeds: 1\n"))
    base = expand(loaded, Overrides())[0]
    same = expand(loaded, Overrides())[0]
    assert base.trial_id("sha256:a") == same.trial_id("sha256:a")
    assert base.trial_id("sha256:a") != base.trial_id("sha256:b")
    assert base.trial_id("sha256:a") != expand(loaded, Overrides(epochs=1))[0].trial_id("sha256:a")
    assert base.trial_id("sha256:a") != expand(loaded, Overrides(max_train_samples=99))[0].trial_id("sha256:a")
    assert expand(loaded, Overrides(seeds=2))[1].trial_id("sha256:a").startswith("base_s1_")


def test_cli_overrides_beat_the_spec(tmp_path):
    loaded = load_spec(spec(tmp_path, "name: x\nseeds: 4\ntraining: {epochs: 30}\n"))
    trials = expand(loaded, Overrides(epochs=2, seeds=1, max_eval_samples=50))
    assert len(trials) == 1
    assert trials[0].config["training"]["epochs"] == 2 and trials[0].config["dataset"]["max_eval_samples"] == 50
    assert trials[0].overrides == {"epochs": 2, "max_eval_samples": 50, "seeds": 1}


def test_keys_added_later_leave_the_ids_of_earlier_records_alone(tmp_path):
    """The committed reference records were written before several spec keys existed; their ids must
    still be the ones the current code computes from the spec they were run with (each record keeps its
    text: a shipped spec changed since, such as search_cpu's budgets, makes other trials), or a rerun would
    train them again."""
    import json

    from fer_bench.spec.trials import recorded_search_trials

    paths = sorted((REPO / "results" / "reference").rglob("record.json"))
    assert len(paths) >= 40
    for path in paths:
        record = json.loads(path.read_text())
        spec = write(tmp_path / f"{record['spec']}.yaml", record["spec_content"]) if record.get("spec_content") \
            else record["spec"]
        loaded, overrides = load_spec(spec), Overrides(**record["overrides"])
        if "search" in record:
            trials = recorded_search_trials(loaded, overrides, record["search"], record["params"])
        else:
            trials = expand(loaded, overrides)
        assert record["trial_id"] in {t.trial_id(record["data"]["fingerprint"]) for t in trials}, path
        assert path.parent.name == record["trial_id"]
