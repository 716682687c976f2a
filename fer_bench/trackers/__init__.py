"""Records handed to experiment trackers: MLflow (`fer-bench mlflow`) and Weights & Biases (`fer-bench
wandb`, `run --wandb`). Each tracker is an optional extra, imported only by the commands that use it."""
