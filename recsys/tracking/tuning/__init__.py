"""Hyperparameter search with Optuna (`recsys tune`): a tracking-level job over the methods."""
