"""CPU seconds of another process's threads, grouped by thread name and split by epoch (Linux only).

TensorFlow names some of its threads (tf_Compute, tf.data's); the others keep the process's name
and count as `unnamed` (Python's own threads, and TensorFlow's op workers when it has more than
one core). Where a run spends more CPU than another then tells which part did the extra work.
"""

import os
import re
import threading
import time
from pathlib import Path

SAMPLE_S = 0.5


class ThreadWatch:
    """Samples every thread of `pid` until it exits; a thread that ends keeps the CPU it used."""

    def __init__(self, pid: int, started: float):
        self.pid, self.started = pid, started
        self._ticks = os.sysconf("SC_CLK_TCK")
        self._process_name = ""
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._threads: dict[int, tuple[str, float]] = {}
        self._thread = threading.Thread(target=self._sample, name="thread-watch", daemon=True)

    def start(self) -> "ThreadWatch":
        self._thread.start()
        return self

    def join(self) -> None:
        self._thread.join()

    def _sample(self) -> None:
        while Path(f"/proc/{self.pid}").exists():
            if not self._process_name:
                try:
                    self._process_name = Path(f"/proc/{self.pid}/comm").read_text().strip()
                except OSError:  # it has just ended
                    return
            for stat in Path(f"/proc/{self.pid}/task").glob("*/stat"):
                try:
                    text = stat.read_text()
                except OSError:  # the thread ended between the listing and the read
                    continue
                tid = int(stat.parent.name)
                name, fields = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
                # utime and stime are fields 14 and 15 of the line, 12 and 13 after the name
                self._threads[tid] = (group(name, tid == self.pid, self._process_name),
                                      (int(fields[11]) + int(fields[12])) / self._ticks)
            totals: dict[str, float] = {}
            for name, seconds in self._threads.values():
                totals[name] = totals.get(name, 0.0) + seconds
            self.samples.append((time.time() - self.started, totals))
            time.sleep(SAMPLE_S)

    def per_epoch(self, epoch_ends: list[float], epoch_s: list[float]) -> dict[str, list[float]]:
        """CPU seconds of each thread group in each epoch; the epochs' ends are in seconds since the
        process started, the epochs are `epoch_s` long."""
        names = sorted({name for _, totals in self.samples for name in totals})
        return {name: [round(self.at(end, name) - self.at(end - length, name), 1)
                       for end, length in zip(epoch_ends, epoch_s)] for name in names}

    def at(self, moment: float, name: str) -> float:
        """A group's CPU seconds at a moment since the process started, between the two samples around it."""
        before = (0.0, 0.0)
        for seen, totals in self.samples:
            value = totals.get(name, 0.0)
            if seen >= moment:
                share = (moment - before[0]) / max(seen - before[0], 1e-9)
                return before[1] + share * (value - before[1])
            before = (seen, value)
        return before[1]


def group(name: str, main: bool, process_name: str) -> str:
    """tf_Compute, tf_data_private_threadpool... without the numbers that tell one worker from the next."""
    if main:
        return "main (Python)"
    # A thread nobody named keeps the process's name: Python's own threads, and TensorFlow's op
    # workers when it has more than one core.
    if name == process_name:
        return "unnamed"
    return re.sub(r"[\d_/-]+$", "", name) or name
