"""Progress for `fer_bench.run`: the CLI's lines, or in a notebook one bar (tqdm's widget) over the run's
epochs with the ETA, the trial in training and its last validation accuracy; what the lines say besides
epochs (failures, groups) is written above the bar."""

import importlib.util
import sys

from fer_bench.errors import UserError
from fer_bench.progress import Progress

KINDS = ("auto", "bar", "lines", "off")


def in_notebook() -> bool:
    shell = sys.modules.get("IPython")
    ipython = getattr(shell, "get_ipython", lambda: None)() if shell else None
    return ipython is not None and "IPKernelApp" in getattr(ipython, "config", {})


def progress_kind(kind: str):
    """The Progress class a run uses: None for the CLI's lines."""
    if kind not in KINDS:
        raise UserError(f"progress: {kind!r} is not one of {', '.join(KINDS)}")
    if kind == "bar" or kind == "auto" and in_notebook():
        return BarProgress
    return None


class BarProgress(Progress):
    def __init__(self, trials, epochs, quiet=False, stream=None):
        # tqdm's widget needs ipywidgets; without it, its text bar (tqdm.auto would warn and fall back)
        if in_notebook() and importlib.util.find_spec("ipywidgets") is not None:
            from tqdm.notebook import tqdm
        else:
            from tqdm.std import tqdm

        super().__init__(trials, epochs, quiet, stream)
        self.bar = tqdm(total=max(round(epochs), 0), unit="epoch", desc="fer-bench", dynamic_ncols=True,
                        disable=quiet)
        self._starting = False

    def start_trial(self, label: str, epochs: int, first: int = 0) -> None:
        self._starting = True  # the bar shows the trial; no line for it
        try:
            super().start_trial(label, epochs, first)
        finally:
            self._starting = False
        self.bar.set_description(f"{self.counter} {label}", refresh=True)

    def end_epoch(self, epoch, seconds, logs, label=None, share=1.0) -> None:
        self._count_epoch(seconds * share)
        postfix = {"epoch": epoch, "ETA": self.eta()}
        if "val_accuracy" in logs:
            postfix["val_acc"] = f"{logs['val_accuracy']:.4f}"
        self.bar.set_postfix(postfix, refresh=False)
        self.bar.update(1)

    def skip_epochs(self, count: int) -> None:
        super().skip_epochs(count)
        self.bar.total = max(self.bar.total - count, self.bar.n)
        self.bar.refresh()

    def say(self, line: str) -> None:
        if not self.quiet and not self._starting:
            self.bar.write(line)

    def close(self) -> None:
        self.bar.close()
