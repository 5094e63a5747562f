"""Training: label loading, datasets over the feature store, trainer, checkpoints, cross-validation, prediction."""
