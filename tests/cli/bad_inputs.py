"""The catalogue of bad inputs: each is a real command on real files; docs/bad-inputs.md lists
what fer-bench answers to each (tests/test_bad_inputs.py checks and regenerates it)."""

import gzip
from pathlib import Path

from conftest import SAMPLE

ROWS = gzip.decompress(SAMPLE.read_bytes()).splitlines()[:12]
GOOD = "name: ok\ndataset: {source: sample}\n"
SEARCH = "name: s\nsearch:\n  strategy: [grid, random]\n  max_trials: 4\n  space:\n    {space}\n"


def csv(mutate) -> bytes:
    rows = list(ROWS)
    mutate(rows)
    return b"\n".join(rows) + b"\n"


def _cut_pixel(rows):
    label, pixels, usage = rows[3].split(b",")
    rows[3] = b",".join([label, pixels.rsplit(b" ", 1)[0], usage])


def _set(index, value):
    def mutate(rows):
        fields = rows[index].split(b",")
        fields[value[0]] = value[1]
        rows[index] = b",".join(fields)
    return mutate


def _png(size=(48, 48), mode="L") -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, format="PNG")
    return buffer.getvalue()


ONE_IMAGE = "emotion,pixels,Usage\n0," + " ".join(["0"] * 2304) + ",Training\n"


def npz(n: int, labels=None) -> bytes:
    """A compact copy of `n` black images (labels given, or zeros)."""
    import io

    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer, pixels=np.zeros((n, 48, 48), np.uint8), labels=np.zeros(n, np.int64) if labels is None
             else np.array(labels), usage=np.zeros(n, np.int64))
    return buffer.getvalue()


# (id, what, files {relative path: bytes or str}, fer-bench arguments, expected fragment)
CASES = [
    ("yaml-syntax", "spec: YAML syntax error", {"s.yaml": "name: x\nmodel: [1, 2\n"}, ["validate", "s.yaml"],
     "line 3"),
    ("unknown-key", "spec: unknown key", {"s.yaml": "name: x\ntraning: {}\n"}, ["validate", "s.yaml"],
     "did you mean 'training'"),
    ("wrong-type", "spec: wrong type", {"s.yaml": "name: x\ntraining: {epochs: many}\n"}, ["validate", "s.yaml"],
     "training.epochs"),
    ("out-of-range", "spec: dropout out of range", {"s.yaml": "name: x\nmodel: {params: {dropout: 1.5}}\n"},
     ["validate", "s.yaml"], "model.params.dropout"),
    ("zero-epochs", "spec: non-positive epochs", {"s.yaml": "name: x\ntraining: {epochs: 0}\n"},
     ["validate", "s.yaml"], "greater than 0"),
    ("empty-sweep", "spec: empty sweep list", {"s.yaml": "name: x\nsweep: {grid: {model.params.dropout: []}}\n"},
     ["validate", "s.yaml"], "empty list"),
    ("duplicate-key", "spec: duplicate key", {"s.yaml": "name: x\nseeds: 1\nseeds: 2\n"}, ["validate", "s.yaml"],
     "duplicate key 'seeds'"),
    ("sweep-missing-key", "spec: sweep over a key that does not exist",
     {"s.yaml": "name: x\nsweep: {grid: {model.params.dropuot: [0.1]}}\n"}, ["validate", "s.yaml"],
     "no key 'dropuot'"),
    ("empty-filters", "spec: empty filter chain", {"s.yaml": "name: x\nmodel: {params: {conv_filters: []}}\n"},
     ["validate", "s.yaml"], "conv_filters"),
    ("unknown-optimizer", "spec: unknown optimizer", {"s.yaml": "name: x\ntraining: {optimizer: {name: adamax}}\n"},
     ["validate", "s.yaml"], "training.optimizer.name"),
    ("unknown-loss", "spec: unknown loss", {"s.yaml": "name: x\ntraining: {loss: hinge}\n"},
     ["validate", "s.yaml"], "training.loss"),
    ("unknown-builder", "spec: unknown model builder", {"s.yaml": "name: x\nmodel: {builder: resnet}\n"},
     ["validate", "s.yaml"], "unknown builder 'resnet'"),
    ("unknown-callback", "spec: unknown callback", {"s.yaml": "name: x\ntraining: {callbacks: {cosine: {}}}\n"},
     ["validate", "s.yaml"], "training.callbacks.cosine"),
    ("python-tag", "spec: python object tag", {"s.yaml": "name: !!python/object/apply:os.system [ls]\n"},
     ["validate", "s.yaml"], "is not allowed"),
    ("name-escape", "spec: name that escapes the results directory", {"s.yaml": "name: ../../etc\n"},
     ["validate", "s.yaml"], "name: must be"),
    ("not-a-mapping", "spec: not a mapping", {"s.yaml": "- a\n- b\n"}, ["validate", "s.yaml"], "YAML mapping"),
    ("spec-not-utf8", "spec: not UTF-8", {"s.yaml": b"name: caf\xe9\n"}, ["validate", "s.yaml"], "not UTF-8"),
    ("missing-data", "data: missing file", {}, ["data", "--data", "nope.csv"], "no such file"),
    ("data-format", "data: unknown format", {"d.txt": "x"}, ["data", "--data", "d.txt"], "unknown data format"),
    ("short-row", "data: a row with 2303 pixels", {"d.csv": csv(_cut_pixel)}, ["data", "--data", "d.csv"],
     "2303 pixels"),
    ("label-7", "data: label 7", {"d.csv": csv(_set(2, (0, b"7")))}, ["data", "--data", "d.csv"],
     "emotion '7'"),
    ("unknown-usage", "data: unknown Usage", {"d.csv": csv(_set(2, (2, b"Validation")))},
     ["data", "--data", "d.csv"], "Usage 'Validation'"),
    ("wrong-columns", "data: wrong columns", {"d.csv": csv(_set(0, (0, b"label")))}, ["data", "--data", "d.csv"],
     "columns are"),
    ("garbage-pixels", "data: non-numeric, non-UTF-8 pixels", {"d.csv": csv(_set(4, (1, b"1 2 \xff")))},
     ["data", "--data", "d.csv"], "pixels must be"),
    ("truncated-gzip", "data: truncated .csv.gz", {"d.csv.gz": SAMPLE.read_bytes()[:40000]},
     ["data", "--data", "d.csv.gz"], "not a complete gzip file"),
    ("empty-folder", "data: folder without images", {"f/.keep": ""}, ["data", "--data", "f"], "no images found"),
    ("no-classes", "data: folder without recognisable classes", {"f/train/cats/Training_1.png": _png()},
     ["data", "--data", "f"], "no FER-2013 class"),
    ("image-size", "data: image of the wrong size", {"f/train/happy/Training_1.png": _png((64, 48))},
     ["data", "--data", "f"], "64x48"),
    ("unreadable-image", "data: unreadable image", {"f/test/sad/PublicTest_1.jpg": b"not a jpeg"},
     ["data", "--data", "f"], "unreadable image"),
    ("search-min-max", "search: range with min above max",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: float, min: 0.5, max: 0.1, step: 0.1}")},
     ["validate", "s.yaml"], "min (0.5) must be below max (0.1)"),
    ("search-log-zero", "search: log sampling from zero",
     {"s.yaml": SEARCH.format(space="training.optimizer.learning_rate: {type: float, min: 0, max: 0.1, "
                                    "sampling: log}").replace("[grid, random]", "random")},
     ["validate", "s.yaml"], "log sampling needs min > 0"),
    ("search-grid-no-step", "search: grid over a float range without a step",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: float, min: 0.0, max: 0.5}")},
     ["validate", "s.yaml"], "needs a step"),
    ("search-unknown-type", "search: unknown parameter type",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: uniform, min: 0, max: 1}")},
     ["validate", "s.yaml"], "search.space.model.params.dropout"),
    ("search-bad-key", "search: a key the spec does not have",
     {"s.yaml": SEARCH.format(space="model.params.dropuot: {type: choice, values: [0.1, 0.2]}")},
     ["validate", "s.yaml"], "no key 'dropuot'"),
    ("search-bad-value", "search: a value the spec refuses",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: choice, values: [0.1, 1.5]}")},
     ["validate", "s.yaml"], "model.params.dropout=1.5"),
    ("search-strategy", "search: unknown strategy",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: choice, values: [0.1]}").replace("grid,", "hyper,")},
     ["validate", "s.yaml"], "search.strategy"),
    ("search-and-sweep", "search: with a sweep too",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: choice, values: [0.1]}")
      + "sweep: {grid: {seeds: [1]}}\n"}, ["validate", "s.yaml"], "either a sweep or a search"),
    ("search-bayes-budget", "search: Bayesian initial points use the whole budget",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: choice, values: [0.1, 0.2]}")
      .replace("[grid, random]", "bayesian").replace("max_trials: 4", "max_trials: 3")},
     ["validate", "s.yaml"], "raise max_trials"),
    ("worker-no-chief", "CLI: a worker with no chief", {"s.yaml": GOOD},
     ["run", "s.yaml", "--worker", "--chief-address", "127.0.0.1:9", "--connect-timeout", "2"],
     "no chief answered within 2s"),
    ("chief-no-port", "CLI: --chief without --port", {"s.yaml": GOOD}, ["run", "s.yaml", "--chief"], "give --port"),
    ("schedule-and-plateau", "spec: a schedule with reduce-on-plateau still on",
     {"s.yaml": "name: x\ntraining: {schedule: {name: cosine}}\n"}, ["validate", "s.yaml"],
     "set training.callbacks.reduce_lr_on_plateau: null"),
    ("smoothing-mse", "spec: label smoothing with mean squared error",
     {"s.yaml": "name: x\ntraining: {loss: mean_squared_error, label_smoothing: 0.1}\n"}, ["validate", "s.yaml"],
     "label_smoothing applies to categorical_crossentropy only"),
    ("jit-compile-word", "spec: jit_compile neither auto nor a boolean",
     {"s.yaml": "name: x\ntraining: {jit_compile: maybe}\n"}, ["validate", "s.yaml"], "allowed: auto, true or false"),
    ("steps-per-execution-zero", "spec: zero training steps per compiled call",
     {"s.yaml": "name: x\ntraining: {steps_per_execution: 0}\n"}, ["validate", "s.yaml"],
     "training.steps_per_execution: Input should be greater than 0"),
    ("device-loop-steps", "spec: the device loop with several steps per execution",
     {"s.yaml": "name: x\ntraining: {loop: device, steps_per_execution: 4}\n"}, ["validate", "s.yaml"],
     "loop: device runs a whole epoch per compiled call"),
    ("device-loop-unknown", "spec: an unknown training loop", {"s.yaml": "name: x\ntraining: {loop: scan}\n"},
     ["validate", "s.yaml"], "training.loop: Input should be 'fit' or 'device'"),
    ("device-loop-tensorflow", "spec: the device loop on the TensorFlow backend",
     {"s.yaml": GOOD + "training: {loop: device, epochs: 1}\n"}, ["run", "s.yaml", "--device", "cpu"],
     "training.loop: device needs the JAX backend"),
    ("unknown-protocol", "spec: unknown protocol", {"s.yaml": "name: x\ndataset: {protocol: all}\n"},
     ["validate", "s.yaml"], "'study' or 'full-train'"),
    ("only-nothing", "CLI: --only matching no trial", {"s.yaml": GOOD}, ["list", "s.yaml", "--only", "zzz*"],
     "matches no trial id"),
    ("evaluate-missing", "evaluate: model file missing", {}, ["evaluate", "nope.keras"], "no such file"),
    ("evaluate-not-keras", "evaluate: not a Keras file", {"m.keras": b"not a zip"}, ["evaluate", "m.keras"],
     "cannot load it as a Keras model"),
    ("compare-not-results", "compare: a side that is not results", {"a.txt": "x", "r/.keep": ""},
     ["compare", "a.txt", "r"], "give a results directory or a table"),
    ("compare-bad-table", "compare: a table without trials", {"t.csv": "a,b\n1,2\n", "r/.keep": ""},
     ["compare", "t.csv", "r"], "not a fer-bench trials table"),
    ("compare-threshold", "CLI: compare threshold out of range", {"r/.keep": ""},
     ["compare", "r", "r", "--threshold", "300"], "0 to 100 points"),
    ("clean-missing", "results: clean a missing directory", {}, ["clean", "nope"], "no such results directory"),
    ("unknown-command", "CLI: unknown command", {}, ["frobnicate"], "invalid choice"),
    ("negative-epochs", "CLI: negative --epochs", {"s.yaml": GOOD}, ["run", "s.yaml", "--epochs", "-3"],
     "positive integer"),
    ("bad-device", "CLI: unknown --device", {"s.yaml": GOOD}, ["run", "s.yaml", "--device", "tpu"],
     "invalid choice: 'tpu'"),
    ("no-gpu", "CLI: --device gpu without a GPU", {"s.yaml": GOOD}, ["run", "s.yaml", "--device", "gpu"],
     "sees no GPU"),
    ("results-is-file", "results: --out is a file", {"s.yaml": GOOD, "out": "x"}, ["run", "s.yaml", "--out", "out"],
     "is a file"),
    ("missing-spec", "CLI: spec file missing", {}, ["run", "nope.yaml"], "no such file"),
    ("report-empty", "results: report over a directory without records", {"r/.keep": ""},
     ["report", "r", "-o", "r.html"], "no trial records found"),
    ("report-format", "CLI: report to an unknown format", {"r/.keep": ""}, ["report", "r", "-o", "r.pdf"],
     "must end in .html or .md"),
    ("status-missing", "results: status of a missing directory", {}, ["status", "nope"], "no such results directory"),
    ("results-under-a-file", "results: --out inside a file", {"s.yaml": GOOD, "f": "x"},
     ["run", "s.yaml", "--out", "f/out"], "f is a file, not a folder"),
    ("report-under-a-file", "CLI: report -o inside a file", {"r/.keep": "", "f": "x"},
     ["report", "r", "-o", "f/r.html"], "f is a file, not a folder"),
    ("too-many-trials", "spec: 100,000,000 seeds (answered at once, none built)",
     {"s.yaml": GOOD + "seeds: 100000000\n"}, ["validate", "s.yaml"], "at most 10,000 per spec"),
    ("too-many-seeds-flag", "CLI: --seeds past the trials limit", {"s.yaml": GOOD},
     ["list", "s.yaml", "--seeds", "20000"], "at most 10,000 per spec"),
    # Found by the fuzzers (tests/fuzz/): each was a traceback, exit 1.
    ("yaml-complex-key", "spec: a list as a key (`? [a, b]`)", {"s.yaml": "? [a, b]\n: c\n"},
     ["validate", "s.yaml"], "a key must be a plain value"),
    ("yaml-too-deep", "spec: nested 60 levels deep", {"s.yaml": "name: x\nmodel: {params: {x: " + "[" * 60 +
                                                       "]" * 60 + "}}\n"}, ["validate", "s.yaml"],
     "nested more than 50 levels deep"),
    ("yaml-laughs", "spec: aliases that expand to 9**9 values (billion laughs)",
     {"s.yaml": "".join(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}" if i else "x"] * 9) + "]\n" for i in range(10))},
     ["validate", "s.yaml"], "expand to over 100,000 values"),
    ("yaml-recursive-alias", "spec: an alias inside itself", {"s.yaml": "name: &x [*x]\n"}, ["validate", "s.yaml"],
     "refers to a value that contains it"),
    ("yaml-control-character", "spec: a control character", {"s.yaml": "name: \x1f\n"}, ["validate", "s.yaml"],
     "line 1, column 7: character 0x001f is not allowed"),
    ("path-too-long", "CLI: a file name over 255 bytes", {}, ["validate", "a" * 300 + ".yaml"], "path too long"),
    ("spec-under-a-file", "CLI: a spec path inside a file", {"f": "x"}, ["validate", "f/s.yaml"], "no such file"),
    ("newline-in-a-path", "CLI: a results path with a newline in it (printed escaped, on one line)", {},
     ["status", "new\nline"], "new\\nline: no such results directory"),
    ("npz-empty", "data: an empty .npz file", {"d.npz": b""}, ["data", "--data", "d.npz"], "not a readable .npz"),
    ("npz-text-labels", "data: .npz labels that are text", {"d.npz": npz(1, ["happy"])}, ["data", "--data", "d.npz"],
     "labels must be 1 integers"),
    ("npz-no-images", "data: an .npz of zero images", {"d.npz": npz(0)}, ["data", "--data", "d.npz"],
     "no images in it"),
    ("data-one-training-image", "data: one Training image, nothing to split", {"d.csv": ONE_IMAGE},
     ["data", "--data", "d.csv"], "cannot be split into train and validation"),
    # Limits on what a size can cost (#29): each was minutes of work, or a read that never ended.
    ("search-grid-too-big", "spec: a grid search over 9 x 10^12 points (counted, none built)",
     {"s.yaml": SEARCH.format(space="training.optimizer.learning_rate: {type: float, min: 1.0e-9, max: 1.0, "
                                    "step: 1.0e-9}\n    model.params.dropout: {type: float, min: 0.0, max: 0.9, "
                                    "step: 0.0001}")},
     ["validate", "s.yaml"], "at most 10,000: use wider steps"),
    ("search-too-many-trials", "spec: a search of 100,000,000 trials",
     {"s.yaml": SEARCH.replace("[grid, random]", "random").replace("max_trials: 4", "max_trials: 100000000").format(
         space="model.params.dropout: {type: float, min: 0.0, max: 0.9}")},
     ["validate", "s.yaml"], "at most 10,000 per spec"),
    ("spec-too-big", "spec: a file over 1 MiB", {"s.yaml": "name: x\n" + "#" * 2**20 + "\n"}, ["validate", "s.yaml"],
     "a spec is at most 1 MiB"),
    ("spec-endless", "spec: a device that never ends (`/dev/zero`)", {}, ["validate", "/dev/zero"],
     "a spec is at most 1 MiB"),
    # W&B (#30): a proposal given from outside, and the export's own flags.
    ("params-unknown-key", "CLI: `run --params` with a key outside search.space",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: choice, values: [0.0, 0.5]}"),
      "p.json": '{"model.params.dropuot": 0.1}'}, ["run", "s.yaml", "--params", "p.json"],
     "key 'model.params.dropuot' is not in s.yaml's search.space; allowed: model.params.dropout"),
    ("params-not-json", "CLI: `run --params` file that is not JSON", {"s.yaml": GOOD, "p.json": "dropout: 0.1"},
     ["run", "s.yaml", "--params", "p.json"], "--params p.json: not JSON"),
    ("params-no-search", "CLI: `run --params` on a spec without a search", {"s.yaml": GOOD, "p.json": "{}"},
     ["run", "s.yaml", "--params", "p.json"], "has no search block"),
    ("wandb-nothing", "CLI: `wandb` with neither results nor --sweep-config", {}, ["wandb"],
     "give RESULTS folders to export, or --sweep-config SPEC"),
    ("sweep-config-no-search", "CLI: `wandb --sweep-config` on a spec without a search", {"s.yaml": GOOD},
     ["wandb", "--sweep-config", "s.yaml"], "needs a spec with a search block"),
    ("search-hyperband-factor", "search: Hyperband with a factor below 2",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: choice, values: [0.1, 0.2]}")
      .replace("[grid, random]", "hyperband").replace("max_trials: 4", "hyperband: {max_epochs: 9, factor: 1}")},
     ["validate", "s.yaml"], "search.hyperband.factor: Input should be greater than or equal to 2"),
    ("search-hyperband-too-many", "spec: Hyperband to training.epochs 10,000 x 100 iterations (counted)",
     {"s.yaml": SEARCH.format(space="model.params.dropout: {type: float, min: 0.0, max: 0.5}")
      .replace("[grid, random]", "hyperband").replace("max_trials: 4", "hyperband: {iterations: 100}")
      + "training: {epochs: 10000}\n"},
     ["validate", "s.yaml"], "search: 1,763,000 trials"),
    ("search-seeds-flag", "CLI: --seeds past the trials limit on a search", {"s.yaml": SEARCH.format(
        space="model.params.dropout: {type: choice, values: [0.1, 0.2]}")},
     ["list", "s.yaml", "--seeds", "20000"], "x executions 20,000); at most 10,000 per spec"),
    # --model-file (#44): a builder from a local file, for one command
    ("model-file-missing", "CLI: --model-file that is not there", {"s.yaml": GOOD},
     ["validate", "s.yaml", "--model-file", "nowhere.py"], "--model-file nowhere.py: no such file"),
    ("model-file-raises", "CLI: --model-file that raises as it is loaded", {"s.yaml": GOOD, "m.py": "x = 1 / 0\n"},
     ["validate", "s.yaml", "--model-file", "m.py"], "m.py:1: it raised ZeroDivisionError: division by zero"),
    ("model-file-empty", "CLI: --model-file that defines no builder", {"s.yaml": GOOD, "m.py": "x = 1\n"},
     ["validate", "s.yaml", "--model-file", "m.py"], "defines no builder"),
    ("model-file-taken-name", "CLI: --model-file whose builder takes fer-bench's own name",
     {"s.yaml": GOOD, "m.py": "MODELS = {'cnn': print}\n"}, ["validate", "s.yaml", "--model-file", "m.py"],
     "'cnn' exists already"),
    ("compare-unknown-metric", "CLI: compare --metric that records do not hold",
     {"r/.keep": ""}, ["compare", "r", "r", "--metric", "f1"], "argument --metric: invalid choice: 'f1'"),
    ("corruptions-flag", "CLI: --corruptions neither on nor off", {"s.yaml": GOOD},
     ["run", "s.yaml", "--corruptions", "yes"], "argument --corruptions: invalid choice: 'yes'"),
    ("corruptions-key", "spec: training.corruptions not a boolean",
     {"s.yaml": GOOD + "training: {corruptions: some}\n"}, ["validate", "s.yaml"],
     "training.corruptions: Input should be a valid boolean"),
]


def materialise(root: Path, files: dict) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
