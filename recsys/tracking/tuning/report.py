"""What a tune run leaves on its parent run: the study's best, counts, figures, trials.

Figures are Optuna's own (``optuna.visualization.matplotlib``): the optimisation history,
each trial's per-epoch values (where the pruner cut), and the parameters' importances
(fANOVA; it needs at least two finished trials that differ).
"""

from __future__ import annotations

import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib
import optuna
from matplotlib import pyplot as plt
from mlflow import MlflowClient
from mlflow.entities import Metric, Param
from optuna.trial import TrialState

from recsys.tracking import names
from recsys.tracking.tuning.baseline import RECALL_ATTR, best_trial, default_trial

ARTIFACT_DIR = "tune"
FIGURES: dict[str, Callable[..., Any]] = {
    "optimization_history.png": optuna.visualization.matplotlib.plot_optimization_history,
    "intermediate_values.png": optuna.visualization.matplotlib.plot_intermediate_values,
    "param_importances.png": optuna.visualization.matplotlib.plot_param_importances,
}


def state_counts(study: optuna.Study) -> dict[str, int]:
    """Trials of the study by state: complete, pruned, failed, running."""
    trials = study.get_trials(deepcopy=False)
    return {
        state.name.lower(): sum(t.state == state for t in trials)
        for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL, TrialState.RUNNING)
    }


def log_study(
    client: MlflowClient, run_id: str, study: optuna.Study, trials_run: int, minutes: float
) -> list[str]:
    """Log the study's outcome on the tune run; returns notes on figures left out.

    Params ``best.<setting>``, metrics ``best_value`` and ``trials_<state>``, the figures
    and ``tune/trials.csv`` (Optuna's trials table: every worker's trials so far).
    """
    counts = state_counts(study)
    metrics = {f"trials_{state}": float(n) for state, n in counts.items()}
    metrics["trials_this_worker"] = float(trials_run)
    metrics["tune_minutes"] = minutes
    params: list[Param] = []
    best = best_trial(study)
    if best is not None:
        metrics[names.METRIC_BEST_VALUE] = float(best.value or 0.0)
        if RECALL_ATTR in best.user_attrs:
            metrics[f"best_{RECALL_ATTR}"] = float(best.user_attrs[RECALL_ATTR])
        existing = client.get_run(run_id).data.params  # MLflow refuses to change a param
        values = {f"{names.PARAM_BEST_PREFIX}{k}": v for k, v in best.params.items()}
        values["best_trial"] = best.number
        params = [Param(k, str(v)) for k, v in values.items() if k not in existing]
        client.log_dict(
            run_id,
            {"trial": best.number, "value": best.value, "params": best.params},
            f"{ARTIFACT_DIR}/best_params.json",
        )
    baseline = default_trial(study)
    if baseline is not None:
        metrics["default_value"] = float(baseline.value or 0.0)
        if RECALL_ATTR in baseline.user_attrs:
            metrics[f"default_{RECALL_ATTR}"] = float(baseline.user_attrs[RECALL_ATTR])
    timestamp = int(1000 * time.time())
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, timestamp, 0) for k, v in metrics.items()],
        params=params,
    )
    notes = _log_figures(client, run_id, study)
    with tempfile.TemporaryDirectory(prefix="recsys-tune-") as folder:
        table = Path(folder) / "trials.csv"
        study.trials_dataframe().to_csv(table, index=False)
        client.log_artifact(run_id, str(table), ARTIFACT_DIR)
    return notes


def _log_figures(client: MlflowClient, run_id: str, study: optuna.Study) -> list[str]:
    matplotlib.use("Agg")
    notes = []
    for file_name, plot in FIGURES.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the matplotlib backend is "experimental"
                axes = plot(study)
        except (ValueError, RuntimeError) as error:  # e.g. importances of one trial
            notes.append(f"{file_name} left out: {error}")
            continue
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(8, 5)
        figure.tight_layout()
        client.log_figure(run_id, figure, f"{ARTIFACT_DIR}/{file_name}")
        plt.close(figure)
    return notes
