"""MLflow's own UI in headless Chromium: opening the experiment compares the methods.

A real main job (the three counting baselines, trained and evaluated on the planted
dataset) fills a temporary store, ``mlflow server`` serves it on loopback, and Playwright
drives the page with the helpers of scripts/mlflow_ui_screenshot.py (which makes
docs/mlflow_ui.png the same way). Without Chromium or Playwright the test skips, saying
which is missing, unless ``RECSYS_REQUIRE_BROWSER=1`` (CI sets it), where it fails.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from types import ModuleType

import pytest
from mlflow import MlflowClient

import recsys.tracking.main.job as main_job
import recsys.tracking.run as run_module
from recsys.tracking import names
from recsys.tracking.comparison_view import comparison_url
from recsys.tracking.main.job import run_main_job
from tests.conftest import LAUNCHER_ENV, REPO_ROOT, make_planted_dataset

pytestmark = pytest.mark.slow

REQUIRE_ENV = "RECSYS_REQUIRE_BROWSER"
DATASET = "planted-ui"
METHODS = ["popularity", "itemknn", "adamic_adar"]
SORTED_BY = "metrics.`matched_auc_all`"  # the view's sort: the leaderboard's ranking
HEADLINE = (
    "matched_auc_all", "auc_all", "auc_seen", "auc_cold_start", "recall_at_10", "ndcg_at_10", "mrr"
)  # fmt: skip


def load_ui_helpers() -> ModuleType:
    path = REPO_ROOT / "scripts" / "mlflow_ui_screenshot.py"
    spec = importlib.util.spec_from_file_location("mlflow_ui_screenshot", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def chromium_or_skip(ui: ModuleType) -> str:
    chromium = ui.find_chromium()
    problem = ""
    if importlib.util.find_spec("playwright") is None:
        problem = "playwright is not installed (pip install -c requirements.lock -e '.[dev]')"
    elif chromium is None:
        problem = f"no Chromium (apt-get install chromium, or set {ui.CHROMIUM_ENV})"
    if problem and os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {problem}")
    if problem:
        pytest.skip(problem)
    return str(chromium)


def test_opening_the_experiment_shows_one_row_per_method_with_the_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ui = load_ui_helpers()
    chromium = chromium_or_skip(ui)
    for launcher_env in LAUNCHER_ENV:
        monkeypatch.delenv(launcher_env, raising=False)
    planted = make_planted_dataset()
    monkeypatch.setattr(run_module, "prepare", lambda config, **kwargs: planted)
    monkeypatch.setattr(main_job, "prepare", lambda config, **kwargs: planted)
    for module in (run_module, main_job):  # the planted dataset's name is no file
        monkeypatch.setattr(module, "check_dataset", lambda dataset: None)
    monkeypatch.chdir(tmp_path)
    store = tmp_path / "mlflow.db"
    result = run_main_job(DATASET, METHODS, tracking_uri=f"sqlite:///{store}", progress=False)
    assert result.ok
    client = MlflowClient(f"sqlite:///{store}")
    runs = [client.get_run(o.run_id or "") for o in result.outcomes]
    ranked = {run.info.run_name: run.data.metrics[names.METRIC_MATCHED_AUC_ALL] for run in runs}
    experiment_id = runs[0].info.experiment_id

    with ui.mlflow_server(store) as base, ui.headless_browser(chromium) as browser:
        # The link `recsys main` prints: the experiment's runs on the comparison view.
        page = browser.new_page(viewport=ui.VIEWPORT)
        ui.open_runs_table(page, comparison_url(base, experiment_id), SORTED_BY)
        headers = ui.header_labels(page)
        for metric in HEADLINE:
            assert headers.get(f"metrics.`{metric}`") == metric, headers
        # One row per method, best degree-matched AUC first (ties in any order), each with
        # its own value; the job's parent and leaderboard left out.
        rows = ui.column_values(page, ui.RUN_NAME_COLUMN)
        shown = [float(v) for v in ui.column_values(page, SORTED_BY)]
        assert sorted(rows) == sorted(ranked)
        assert shown == pytest.approx([ranked[name] for name in rows])
        assert shown == sorted(shown, reverse=True)

        # The experiment opened from MLflow's own list, in the model-training UI: the
        # method runs are top-level rows, not hidden under the main job's parent.
        page = browser.new_page(viewport=ui.VIEWPORT)
        ui.open_runs_table(
            page, f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"
        )
        rows = ui.column_values(page, ui.RUN_NAME_COLUMN)
        assert set(ranked) <= set(rows), rows
        assert f"main on {DATASET}" in rows
