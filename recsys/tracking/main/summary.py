"""What the main job hands back and leaves on its parent run: outcomes and the summary.

:func:`recsys.tracking.main.job.run_main_job` returns a :class:`MainJobResult`; the CLI
prints :func:`format_summary`, and :func:`log_summary` stores the same text, a JSON version
and the counts of finished / failed methods on the parent run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mlflow import MlflowClient

from recsys.tracking.leaderboard.report import LeaderboardReport
from recsys.tracking.parent import ERROR_ARTIFACT as ERROR_ARTIFACT  # re-exported
from recsys.tracking.parent import TAG_ERROR as TAG_ERROR


@dataclass(frozen=True)
class MethodOutcome:
    """How one method's run ended."""

    method: str
    status: Literal["FINISHED", "FAILED"]
    run_id: str | None
    minutes: float
    error: str = ""
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MainJobResult:
    """Every method's outcome, the parent run and the leaderboard printed at the end."""

    parent_run_id: str
    dataset: str
    outcomes: list[MethodOutcome]
    leaderboard: LeaderboardReport | None
    leaderboard_error: str = ""
    compare_hint: str = ""  # how to open the MLflow UI's comparison of the methods

    @property
    def failed(self) -> list[MethodOutcome]:
        return [o for o in self.outcomes if o.status == "FAILED"]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.leaderboard_error


def format_summary(result: MainJobResult) -> str:
    """One line per method (status, minutes, run id, error), then the verdict."""
    width = max((len(o.method) for o in result.outcomes), default=6)
    lines = [f"Main job on {result.dataset} (run {result.parent_run_id}):"]
    for o in result.outcomes:
        tail = f"  {o.error}" if o.error else ""
        lines.append(
            f"  {o.method:<{width}}  {o.status:<8}  {o.minutes:6.2f} min  {o.run_id}{tail}"
        )
    if result.leaderboard_error:
        lines.append(f"  leaderboard FAILED: {result.leaderboard_error}")
    methods = len({o.method for o in result.outcomes})
    repeated = methods < len(result.outcomes)  # --seeds: several runs per method
    unit = "run(s)" if repeated else "method(s)"
    if result.ok:
        of_methods = f" of {methods} method(s)" if repeated else ""
        lines.append(f"All {len(result.outcomes)} {unit}{of_methods} finished.")
    else:
        failed = ", ".join(dict.fromkeys(o.method for o in result.failed)) or "none"
        lines.append(
            f"{len(result.failed)} of {len(result.outcomes)} {unit} FAILED ({failed}); "
            "the others' runs are on the server. See each failed run's recsys.error tag "
            f"and {ERROR_ARTIFACT}."
        )
    if result.compare_hint:
        lines.append(result.compare_hint)
    return "\n".join(lines) + "\n"


def log_summary(client: MlflowClient, result: MainJobResult) -> None:
    run_id = result.parent_run_id
    client.log_dict(
        run_id,
        {
            "dataset": result.dataset,
            "outcomes": [
                {k: v for k, v in vars(o).items() if k != "params"}
                | {"params": {k: str(v) for k, v in o.params.items()}}
                for o in result.outcomes
            ],
            "leaderboard_run_id": result.leaderboard.run_id if result.leaderboard else None,
            "leaderboard_error": result.leaderboard_error,
        },
        "main_summary.json",
    )
    client.log_text(run_id, format_summary(result), "main_summary.txt")
    if result.leaderboard is not None:
        client.log_text(run_id, result.leaderboard.text, "leaderboard.txt")
    client.log_metric(run_id, "n_methods_failed", float(len(result.failed)))
    client.log_metric(
        run_id, "n_methods_finished", float(len(result.outcomes) - len(result.failed))
    )
