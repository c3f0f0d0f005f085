"""Publish a leaderboard: query the server, then log the tables and chart in a run of their own.

The run is tagged ``recsys.kind=leaderboard`` so later leaderboards skip it. Under
``mlflow run -e leaderboard`` MLflow has already created the run (``MLFLOW_RUN_ID``); the
report is logged into that run instead of a new one, and MLflow closes it.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recsys.tracking import names
from recsys.tracking.experiments import resolve_experiment_id
from recsys.tracking.leaderboard.figures import (
    curves_figure,
    leaderboard_figure,
    quality_minutes_figure,
)
from recsys.tracking.leaderboard.query import query_leaderboard
from recsys.tracking.leaderboard.registry import (
    ChampionUpdate,
    champions_skipped,
    update_champions,
)
from recsys.tracking.leaderboard.rows import DEFAULT_RANK_BY, DatasetTable, Leaderboard
from recsys.tracking.leaderboard.tables import format_html, format_markdown, format_text
from recsys.tracking.names import KIND_LEADERBOARD, TAG_KIND, dataset_label
from recsys.tracking.progress import artifact_progress_bars

DEFAULT_EXPERIMENT = "leaderboard"  # where standalone leaderboard runs go


@dataclass(frozen=True)
class LeaderboardReport:
    """A published leaderboard: the tables, their text, and the run holding the artifacts."""

    board: Leaderboard
    text: str
    run_id: str | None  # None when the board was empty and nothing was logged
    champions: tuple[ChampionUpdate, ...] = ()  # the registry's aliases, when logged

    @property
    def champion_lines(self) -> str:
        """Where each dataset's ``champion`` alias points after this report, or why none
        moved (or "" when nothing was logged)."""
        lines = [update.describe() for update in self.champions]
        if self.run_id and (skipped := champions_skipped(self.board)):
            lines.append(skipped)
        return "".join(f"{line}\n" for line in lines)


def log_leaderboard(
    client: MlflowClient,
    board: Leaderboard,
    *,
    run_id: str | None = None,
    experiment_id: str | None = None,
    parent_run_id: str | None = None,
    extra_tags: dict[str, str] | None = None,
) -> tuple[str, list[ChampionUpdate]]:
    """Log the tables (Markdown, HTML, text, JSON) and figures of ``board``, and move each
    dataset's registered ``champion`` to its leader when it beats it; returns the run id
    and what happened to each champion.

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
        images = _png_bytes(leaderboard_figures(client, board))  # rendered once
        _log_images(client, run_id, images)
        client.log_text(run_id, format_markdown(board), "leaderboard.md")
        client.log_text(run_id, format_html(board, images), "leaderboard.html")
        client.log_text(run_id, format_text(board), "leaderboard.txt")
        client.log_dict(run_id, _as_dict(board), "leaderboard.json")
        champions = update_champions(client, board)
        for update in champions:
            client.set_tag(run_id, f"recsys.champion.{update.model_name}", update.version)
    except BaseException:
        if owns_run:
            client.set_terminated(run_id, status="FAILED")
        raise
    if owns_run:
        client.set_terminated(run_id, status="FINISHED")
    return run_id, champions


def leaderboard_figures(client: MlflowClient, board: Leaderboard) -> dict[str, Figure]:
    """File name -> figure: the AUC bars, quality against minutes, and per dataset every
    method's ROC and recall@k curves overlaid."""
    figures = {
        "leaderboard.png": leaderboard_figure(board),
        "quality_vs_minutes.png": quality_minutes_figure(board),
    }
    for table in board.tables:
        curves = run_curves(client, table)
        if curves:
            label = dataset_label(table.dataset)
            figures[f"curves_{label}.png"] = curves_figure(label, curves)
    return figures


def _png_bytes(figures: dict[str, Figure]) -> dict[str, bytes]:
    encoded = {}
    for file_name, figure in figures.items():
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")  # what log_figure writes
        encoded[file_name] = buffer.getvalue()
    return encoded


def _log_images(client: MlflowClient, run_id: str, images: dict[str, bytes]) -> None:
    """The PNGs as artifacts at the run's root (the bytes the HTML page embeds)."""
    with tempfile.TemporaryDirectory(prefix="recsys-leaderboard-") as tmp:
        for file_name, png in images.items():
            (Path(tmp) / file_name).write_bytes(png)
        client.log_artifacts(run_id, tmp)


def run_curves(client: MlflowClient, table: DatasetTable) -> dict[str, dict[str, Any]]:
    """Each ranked run's ``evaluation/curves.json`` by method label (runs without one,
    logged before curves existed, are left out). MLflow's download bars stay off: the
    files are a few KB each."""
    found: dict[str, dict[str, Any]] = {}
    with artifact_progress_bars(False):
        for row in table.rows:
            if not row.run_id:
                continue
            try:
                with tempfile.TemporaryDirectory(prefix="recsys-curves-") as tmp:
                    path = client.download_artifacts(row.run_id, names.ARTIFACT_CURVES, tmp)
                    found[row.label] = json.loads(Path(path).read_text())
            except (MlflowException, OSError, ValueError):
                continue
    return found


def _as_dict(board: Leaderboard) -> dict[str, object]:
    return {
        "tracking_uri": board.tracking_uri,
        "datasets": {
            t.dataset: {
                "n_runs": t.n_runs,
                "other_data_runs": t.other_data_runs,
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
    run_id: str | None = None
    champions: list[ChampionUpdate] = []
    if log and not board.is_empty:
        own_run = os.environ.get("MLFLOW_RUN_ID") if parent_run_id is None else None
        run_id, champions = log_leaderboard(
            client,
            board,
            run_id=own_run or None,
            experiment_id=experiment_id,
            parent_run_id=parent_run_id,
        )
    return LeaderboardReport(board=board, text=text, run_id=run_id, champions=tuple(champions))
