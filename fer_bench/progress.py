"""Progress lines with an ETA over the trials and epochs of a run."""

import sys
import time


def format_seconds(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class Progress:
    """Counts epochs done against epochs planned; the ETA uses this run's mean epoch time.

    With `trials` None (a worker does not know how much work its chief will hand it) the ETA
    covers the trial in progress.
    """

    def __init__(self, trials: int | None, epochs: float, quiet: bool = False, stream=None):
        self.trials = trials
        self.remaining_epochs = epochs
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.epoch_seconds: list[float] = []
        # per trial scored: the seconds its scoring took (FER-2013-C alone can take minutes), for the ETA
        self.score_seconds: list[float] = []
        self.index = 0
        self.label = ""
        self.epochs = 0
        # per trial label, for the interleaved lines of trials trained together: its number and last epoch
        self._numbers: dict[str, int] = {}
        self._last_epoch: dict[str, int] = {}

    def start_trial(self, label: str, epochs: int, first: int = 0) -> None:
        """`first`: the epochs a continued trial (Hyperband's) starts after; its epochs count on from there."""
        self.index += 1
        self.label, self.epochs = label, first + epochs
        self._last_epoch[label] = first + epochs
        self._numbers[label] = self.index
        if self.trials is None:
            self.remaining_epochs = epochs
        continued = f" (epochs {first + 1}-{first + epochs}, continued)" if first else ""
        self.say(f"{self.counter} {label}: training {epochs} epoch{'' if epochs == 1 else 's'}{continued}")

    @property
    def counter(self) -> str:
        return self._counter(self.index)

    def _counter(self, index: int) -> str:
        # A search's count is an estimate: past it, the counter just counts.
        return f"[{index}]" if self.trials is None or index > self.trials else f"[{index}/{self.trials}]"

    def end_epoch(self, epoch: int, seconds: float, logs: dict, label: str | None = None, share: float = 1.0) -> None:
        """`label`: the trial, where several train at once; `share`: its part of the epoch's time (a member
        of a group of n trains n epochs in that time), so that the ETA counts the time once."""
        self._count_epoch(seconds * share)
        metrics = "  ".join(
            f"{k} {logs[k]:.4f}" for k in ("loss", "accuracy", "val_loss", "val_accuracy") if k in logs
        )
        label = label or self.label
        number, last = self._numbers.get(label, self.index), self._last_epoch.get(label, self.epochs)
        self.say(f"{self._counter(number)} {label} epoch {epoch}/{last}  {metrics}  "
                 f"{seconds:.1f}s  ETA {self.eta()}")

    def _count_epoch(self, seconds: float) -> None:
        self.epoch_seconds.append(seconds)
        self.remaining_epochs -= 1

    def skip_epochs(self, count: int) -> None:
        """Epochs planned but not run (early stop, divergence, failure)."""
        self.remaining_epochs -= count

    def end_scoring(self, seconds: float) -> None:
        self.score_seconds.append(seconds)

    def eta(self) -> str:
        """The epochs left at this run's mean epoch time, and, once a trial was scored, the trials left to
        score at the mean scoring time."""
        if not self.epoch_seconds:
            return "?"
        left = self.remaining_epochs * sum(self.epoch_seconds) / len(self.epoch_seconds)
        if self.score_seconds and self.trials is not None:
            left += max(self.trials - len(self.score_seconds), 0) * sum(self.score_seconds) / len(self.score_seconds)
        return format_seconds(left)

    def say(self, line: str) -> None:
        if not self.quiet:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        """At the end of the run, however it ends (a bar, api/bars.py, closes its widget)."""


def process_start_time() -> float:
    """When this process started (interpreter start-up included), as a Unix time."""
    try:
        import psutil

        return psutil.Process().create_time()
    except Exception:  # psutil is optional here; the import time of this module is close enough
        return _IMPORTED_AT


_IMPORTED_AT = time.time()
