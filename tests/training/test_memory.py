"""A trial's peak memory is its own: what an earlier trial in the same process allocated does not count,
and the process's peak still does."""

import time

import numpy as np

from fer_bench.training.memory import MemoryWatch

BLOCK_MIB = 256


def hold_block() -> None:
    block = np.ones(BLOCK_MIB * 2**20 // 8)  # written, so every page is resident
    time.sleep(0.3)  # long enough for the sampler where the kernel's peak cannot be reset
    del block


def test_peak_rss_is_per_trial():
    first = MemoryWatch().start()
    hold_block()
    big = first.stop()
    small = MemoryWatch().start().stop()
    assert big["peak_rss_mib"] >= small["peak_rss_mib"] + 0.8 * BLOCK_MIB
    assert small["process_peak_rss_mib"] >= big["peak_rss_mib"]
