"""Publish a leaderboard: query the server, then log the tables and chart in a run of their own.

The run is tagged ``recsys.kind=leaderboard`` so later leaderboards skip it. Under
``mlflow run -e leaderboard`` MLflow has already created the run (``MLFLOW_RUN_ID``); the
report is logged into that run instead of a new one, and MLflow closes it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from mlflow import MlflowClient

from recsys.tracking.experiments import resolve_experiment_id
from recsys.tracking.leaderboard import (
    DEFAULT_RANK_BY,
    KIND_LEADERBOARD,
    TAG_KIND,
    Leaderboard,
    query_leaderboard,
)
from recsys.tracking.leaderboard_format import format_html, format_markdown, format_text
from recsys.tracking.leaderboard_plot import leaderboard_figure, quality_minutes_figure

DEFAULT_EXPERIMENT = "leaderboard"  # where standalone leaderboard runs go


@dataclass(frozen=True)
class LeaderboardReport:
    """A published leaderboard: the tables, their text, and the run holding the artifacts."""

    board: Leaderboard
    text: str
    run_id: str | None  # None when the board was empty and nothing was logged


def log_leaderboard(
    client: MlflowClient,
    board: Leaderboard,
    *,
    run_id: str | None = None,
    experiment_id: str | None = None,
    parent_run_id: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> str:
    """Log Markdown, HTML, JSON and the bar chart of ``board``; returns the run id.

    With ``run_id`` the artifacts go into that existing run, which is left open for its
    owner to close; otherwise a new run is created (nested under ``parent_run_id`` when
    given) and closed as FINISHED.
    """
    tags = {
        TAG_KIND: KIND_LEADERBOARD,
        "recsys.leaderboard.datasets": ",".join(t.dataset for t in board.tables),
        **(extra_tags or {}),
    }
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    owns_run = run_id is None
    if run_id is None:
        exp = experiment_id or resolve_experiment_id(client, DEFAULT_EXPERIMENT)
        run_id = client.create_run(exp, tags=tags, run_name="leaderboard").info.run_id
    else:
        for key, value in tags.items():
            client.set_tag(run_id, key, value)
    try:
        client.log_text(run_id, format_markdown(board), "leaderboard.md")
        client.log_text(run_id, format_html(board), "leaderboard.html")
        client.log_text(run_id, format_text(board), "leaderboard.txt")
        client.log_dict(run_id, _as_dict(board), "leaderboard.json")
        client.log_figure(run_id, leaderboard_figure(board), "leaderboard.png")
        client.log_figure(run_id, quality_minutes_figure(board), "quality_vs_minutes.png")
    except BaseException:
        if owns_run:
            client.set_terminated(run_id, status="FAILED")
        raise
    if owns_run:
        client.set_terminated(run_id, status="FINISHED")
    return run_id


def _as_dict(board: Leaderboard) -> dict[str, object]:
    return {
        "tracking_uri": board.tracking_uri,
        "datasets": {
            t.dataset: {
                "n_runs": t.n_runs,
                "rows": [vars(r) for r in t.rows],
                "references": [vars(r) for r in t.references],
            }
            for t in board.tables
        },
    }


def publish_leaderboard(
    client: MlflowClient,
    dataset: str | None = None,
    *,
    rank_by: str = DEFAULT_RANK_BY,
    log: bool = True,
    parent_run_id: str | None = None,
    experiment_id: str | None = None,
) -> LeaderboardReport:
    """Query, render and (unless empty or ``log`` is False) log the leaderboard.

    Inside ``mlflow run`` (``MLFLOW_RUN_ID`` set, no parent given) the report is logged into
    MLflow's run for the entry point.
    """
    board = query_leaderboard(client, dataset, rank_by)
    text = format_text(board)
    run_id = None
    if log and not board.is_empty:
        own_run = os.environ.get("MLFLOW_RUN_ID") if parent_run_id is None else None
        run_id = log_leaderboard(
            client,
            board,
            run_id=own_run or None,
            experiment_id=experiment_id,
            parent_run_id=parent_run_id,
        )
    return LeaderboardReport(board=board, text=text, run_id=run_id)
