"""The ETA of a run's progress lines (fer_bench/progress.py): epochs left at the mean epoch time, plus
the trials left to score at the mean scoring time once one was scored."""

from fer_bench.progress import Progress


def test_the_eta_counts_the_scoring_still_to_come():
    progress = Progress(trials=2, epochs=4, quiet=True)
    assert progress.eta() == "?"
    progress.start_trial("a", 2)
    progress.end_epoch(1, 10.0, {})
    progress.end_epoch(2, 10.0, {})
    assert progress.eta() == "20s"  # two epochs of 10 s left; no scoring measured yet
    progress.end_scoring(30.0)  # FER-2013-C took half a minute
    assert progress.eta() == "50s"  # the other trial's 2 epochs and its scoring
    progress.start_trial("b", 2)
    progress.end_epoch(1, 10.0, {})
    progress.end_epoch(2, 10.0, {})
    assert progress.eta() == "30s"
    progress.end_scoring(30.0)
    assert progress.eta() == "0s"
