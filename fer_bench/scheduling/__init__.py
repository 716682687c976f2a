"""Many trials over one results folder: planning specs into trials, the queue of sweeps and search
proposals, per-trial claims so that processes never train a trial twice, the local run, clean-up."""
