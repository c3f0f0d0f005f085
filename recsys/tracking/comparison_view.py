"""The MLflow UI view that compares methods: a saved view on every experiment we write to.

What MLflow 3.17's UI shows when an experiment is opened, and why this module exists:

- The runs table's default columns are Source, Models and Dataset; no metric column is
  shown until the user picks one, and the picks live in the browser's local storage.
- Nested runs are collapsed under their parent, so the main job's method runs are top-level
  runs (tag ``recsys.main_run`` groups them), not children.
- The sidebar's GenAI / Model training switch (browser local storage, GenAI by default, or
  the URL's ``workflowType``) decides the landing page; 3.17.2's UI derives the experiment's
  kind from that switch, so the ``mlflow.experimentKind`` tag we set
  (``custom_model_development``) records what the experiment holds without steering it.
- A saved view is an experiment tag ``mlflow.sharedViewState.<id>`` holding the table's
  state (filter, sort, columns) as JSON; the runs page's Views menu lists it, and the URL
  parameter ``viewStateShareKey=<id>`` opens it (MLflow's own "share view" link).

So every experiment a method run lands in carries the view ``recsys: methods compared``:
one row per method run, sorted by the degree-matched AUC (the leaderboard's ranking), with
it, AUC all / seen / cold start, recall@10, NDCG@10, MRR and training minutes as columns;
:func:`comparison_url` is the link that opens it with no further clicks (``recsys main``
prints it).
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from recsys.tracking import names

VIEW_ID = "recsys-methods"
VIEW_NAME = "recsys: methods compared"
TAG_SAVED_VIEW = f"mlflow.sharedViewState.{VIEW_ID}"  # MLflow UI: saved / shared view
TAG_EXPERIMENT_KIND = "mlflow.experimentKind"  # MLflow UI: GenAI or model training
EXPERIMENT_KIND = "custom_model_development"  # the UI's "Machine learning" kind
TAG_DESCRIPTION = "mlflow.note.content"  # MLflow UI: the experiment's description
DEFAULT_UI_URL = "http://127.0.0.1:5000"  # where `mlflow ui` serves by default

# The comparison's metric columns, in this order (MLflow would sort them by name): first
# the one the rows are sorted by, the leaderboard's default ranking (degree-matched AUC,
# where popularity alone is at chance), then the study's protocol and the ranking metrics.
SORT_METRIC = names.METRIC_MATCHED_AUC_ALL
VIEW_METRICS = (
    SORT_METRIC,
    names.METRIC_AUC_ALL,
    names.METRIC_AUC_SEEN,
    names.METRIC_AUC_COLD_START,
    names.METRIC_RECALL_AT_10,
    names.METRIC_NDCG_AT_10,
    names.METRIC_MRR,
    names.METRIC_TRAIN_MINUTES,
)
METRIC_COLUMN_WIDTH = 96  # px: "0.9118556…"; eight columns fit beside the run names
DATASET_COLUMN_WIDTH = 220  # px: the dataset's name and the start of its digest
RUN_NAME_COLUMN_WIDTH = 280  # px: "side_info-learned on synthetic-small" in full


def _column(kind: str, key: str) -> str:
    """The UI's column id (its ``makeCanonicalSortKey``): ``metrics.`auc_all```."""
    return f"{kind}.`{key}`"


def view_state() -> dict[str, Any]:
    """The runs page's search facets and table state that the saved view applies.

    The UI replaces its whole table state with the view's, so every field of its default
    state is given (MLflow 3.17's ``createExperimentPageUIState``), not only the columns.
    """
    metric_columns = [_column("metrics", m) for m in VIEW_METRICS]
    dataset_column = _column("attributes", "Dataset")
    run_name_column = _column("attributes", "Run Name")
    return {
        # search facets: method runs only (not the main job's parent or leaderboards)
        "searchFilter": f"tags.`{names.TAG_METHOD}` != ''",
        "orderByKey": _column("metrics", SORT_METRIC),
        "orderByAsc": False,
        "startTime": "ALL",
        "lifecycleFilter": "Active",
        "modelVersionFilter": "All Runs",
        "datasetsFilter": [],
        # table state
        "selectedColumns": [*metric_columns, dataset_column],
        "columnOrder": [*metric_columns, dataset_column],
        "columnWidths": {
            **dict.fromkeys(metric_columns, METRIC_COLUMN_WIDTH),
            dataset_column: DATASET_COLUMN_WIDTH,
            run_name_column: RUN_NAME_COLUMN_WIDTH,
        },
        "runsExpanded": {},
        "runsPinned": [],
        "runsHidden": [],
        "runsVisibilityMap": {},
        "runsHiddenMode": "FIRST_10_RUNS",
        "viewMaximized": False,
        "runListHidden": False,
        "isAccordionReordered": False,
        "useGroupedValuesInCharts": True,
        "hideEmptyCharts": True,
        "groupBy": None,
        "groupsExpanded": {},
        "autoRefreshEnabled": True,
        "globalLineChartConfig": {
            "xAxisKey": "step",
            "lineSmoothness": 0,
            "selectedXAxisMetricKey": "",
        },
    }


# The experiment's description (the experiments list and the runs page show it).
DESCRIPTION = (
    f"recsys: one run per method. Views > '{VIEW_NAME}': best degree-matched AUC first, "
    "then AUC all / seen / cold start (the study's protocol), recall@10, NDCG@10, MRR."
)


def ensure_comparison_view(client: MlflowClient, experiment_id: str) -> None:
    """Give the experiment the comparison view, its kind and, if it has none, a description.

    Idempotent and cheap (one read, writes only what differs), so every method run calls
    it: runs launched by ``mlflow run`` into any experiment get the view too. The view is
    recsys's own and is rewritten when it differs; a user's description and kind are kept.
    """
    tags = client.get_experiment(experiment_id).tags
    state = json.dumps(view_state(), separators=(",", ":"))
    if _saved_view(tags.get(TAG_SAVED_VIEW)) != (VIEW_NAME, state):
        envelope = {"name": VIEW_NAME, "createdAt": int(time.time() * 1000), "state": state}
        _set_tag_unless_raced(client, experiment_id, TAG_SAVED_VIEW, json.dumps(envelope))
    if not tags.get(TAG_EXPERIMENT_KIND):
        _set_tag_unless_raced(client, experiment_id, TAG_EXPERIMENT_KIND, EXPERIMENT_KIND)
    if not tags.get(TAG_DESCRIPTION):
        _set_tag_unless_raced(client, experiment_id, TAG_DESCRIPTION, DESCRIPTION)


def _set_tag_unless_raced(client: MlflowClient, experiment_id: str, key: str, value: str) -> None:
    """Set an experiment tag; a write lost to another run setting it at the same moment is fine.

    Two first runs on a fresh experiment both find the tag missing and both insert it; the
    SQL store refuses the second (a unique-key error). The winner wrote the same view, kind
    or description, so the loser keeps it; an error with the tag still absent is real.
    """
    try:
        client.set_experiment_tag(experiment_id, key, value)
    except MlflowException:
        if key not in client.get_experiment(experiment_id).tags:
            raise


def _saved_view(value: str | None) -> tuple[str, str] | None:
    """(name, state) of a saved-view tag, or None when absent or not one."""
    try:
        envelope = json.loads(value) if value else None
        return (envelope["name"], envelope["state"]) if isinstance(envelope, dict) else None
    except (ValueError, KeyError, TypeError):
        return None


def ui_url(tracking_uri: str) -> str:
    """Where the UI of ``tracking_uri`` is served: the server itself, else ``mlflow ui``'s
    default address (a local store has no server until ``mlflow ui`` starts one)."""
    if tracking_uri.startswith(("http://", "https://")):
        return tracking_uri.rstrip("/")
    return DEFAULT_UI_URL


def comparison_url(base_url: str, experiment_id: str) -> str:
    """The experiment's runs page opened on the comparison view, in the model-training UI."""
    query = urlencode({"workflowType": "machine_learning", "viewStateShareKey": VIEW_ID})
    return f"{base_url.rstrip('/')}/#/experiments/{experiment_id}/runs?{query}"


def comparison_hint(tracking_uri: str, experiment_id: str) -> str:
    """One line telling the user how to open the comparison of ``tracking_uri``'s runs."""
    url = comparison_url(ui_url(tracking_uri), experiment_id)
    if tracking_uri.startswith(("http://", "https://")):
        return f"Compare the methods in the MLflow UI: {url}"
    return (
        f"Compare the methods in the MLflow UI: `mlflow ui --backend-store-uri {tracking_uri}`, "
        f"then open {url}"
    )
