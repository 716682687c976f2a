"""One trial in this process: backend start-up, model, optimizer and schedule, augmentation, fit with its
monitor, gradients and memory, scoring on the held-out splits, the record; and scoring a saved model."""
