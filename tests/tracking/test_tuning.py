"""`recsys tune`: trials nested under a tune run, scored on an inner split of the training
pairs, a tuned final run, studies refused for other objectives, failures recorded, and
workers sharing one study.

The dataset is the planted toy dataset (prepare is replaced by it) and the stores are
temporary sqlite files. ``recording`` is popularity behind a wrapper that keeps every
dataset it was trained on (and can crash once), so the tests can see what trials saw.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import optuna
import pytest
from click.testing import CliRunner
from mlflow import MlflowClient
from mlflow.entities import Run

import recsys.tracking.main.job as main_job
import recsys.tracking.run as run_module
import recsys.tracking.tuning.job as tune_job
from recsys.callbacks import TrainingCallback
from recsys.cli import main as cli
from recsys.config import TUNE_WEIGHTED, DataConfig, StrictModel
from recsys.data.dataset import PreparedDataset
from recsys.data.split import inner_split
from recsys.embeddings import ItemEmbeddings
from recsys.evaluation.metrics import evaluate
from recsys.evaluation.ranking import evaluate_ranking, ranking_queries
from recsys.methods import METHOD_MODULES
from recsys.models.base import Method
from recsys.models.popularity import PopularityConfig, train_popularity
from recsys.tracking import names
from recsys.tracking.main.job import run_main_job
from recsys.tracking.parent import TAG_ERROR
from recsys.tracking.tuning.baseline import (
    BASELINE_ATTR,
    FLOOR_ATTR,
    FLOOR_CONSTRAINT,
    RECALL_ATTR,
    best_trial,
)
from recsys.tracking.tuning.errors import StudyError
from recsys.tracking.tuning.job import (
    DATA_KEY_ATTR,
    DATASET_GIVEN_ATTR,
    TuneRequest,
    run_tune,
    trial_outcome,
)
from recsys.tracking.tuning.trial import PruningCallback
from tests.conftest import make_planted_dataset

DATASET = "planted-tune"
TRAINED_ON: list[PreparedDataset] = []  # every dataset `recording` trained on, in order
# Set in a worker process: its first training waits here until the other worker's first
# training has started too, so both hold a trial however the OS schedules them.
FIRST_TRIAL_BARRIER: Any = None


class RecordingConfig(StrictModel):
    """Popularity's setting, searched, plus a switch that crashes the first training."""

    weighted: Annotated[bool, TUNE_WEIGHTED] = False
    crash_first: bool = False


def _train_recording(
    data: PreparedDataset, config: RecordingConfig, callbacks: Sequence[TrainingCallback]
) -> ItemEmbeddings:
    TRAINED_ON.append(data)
    if FIRST_TRIAL_BARRIER is not None and len(TRAINED_ON) == 1:
        FIRST_TRIAL_BARRIER.wait(timeout=120)
    if config.crash_first and len(TRAINED_ON) == 1:
        raise RuntimeError("planted crash in the first trial")
    return train_popularity(data, PopularityConfig(weighted=config.weighted), callbacks)


METHOD = Method("recording", RecordingConfig, _train_recording, "popularity, recorded")


def _use_planted(monkeypatch: pytest.MonkeyPatch | None = None) -> None:
    planted = make_planted_dataset()
    if monkeypatch is None:  # a worker process: nothing to undo
        run_module.prepare = lambda config, **kwargs: planted  # type: ignore[assignment]
        tune_job.prepare = run_module.prepare  # type: ignore[assignment]
        run_module.check_dataset = tune_job.check_dataset = lambda dataset: None
        METHOD_MODULES["recording"] = __name__
        return
    monkeypatch.setattr(run_module, "prepare", lambda config, **kwargs: planted)
    monkeypatch.setattr(tune_job, "prepare", lambda config, **kwargs: planted)
    monkeypatch.setattr(main_job, "prepare", lambda config, **kwargs: planted)
    for module in (run_module, tune_job, main_job):  # the planted dataset's name is no file
        monkeypatch.setattr(module, "check_dataset", lambda dataset: None)
    monkeypatch.setitem(METHOD_MODULES, "recording", __name__)


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A temporary MLflow store path (created on first use, so a test can check that
    nothing was tracked); the study storage defaults to optuna.db beside it."""
    for var in ("MLFLOW_RUN_ID", "MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME"):
        monkeypatch.delenv(var, raising=False)
    _use_planted(monkeypatch)
    TRAINED_ON.clear()
    monkeypatch.chdir(tmp_path)
    return f"sqlite:///{tmp_path / 'mlflow.db'}"


def _tune(store: str, method: str = "recording", trials: int = 3, **kwargs: Any) -> Any:
    params = {"dataset": DATASET, **kwargs.pop("params", {})}
    request = TuneRequest(method, trials, params=params, **kwargs)
    return run_tune(request, tracking_uri=store, progress=False, echo=lambda line: None)


def _runs(client: MlflowClient, **tags: str) -> list[Run]:
    experiments = [e.experiment_id for e in client.search_experiments()]
    clauses = [f"tags.`{key}` = '{value}'" for key, value in tags.items()]
    return client.search_runs(experiments, filter_string=" AND ".join(clauses))


def planted_fraction() -> float:
    return float(DataConfig.model_fields["validation_fraction"].default)


def _pair_keys(a: np.ndarray, b: np.ndarray, n: int) -> set[int]:
    return set((np.minimum(a, b).astype(np.int64) * n + np.maximum(a, b)).tolist())


def test_trials_nest_under_the_tune_run_and_the_tuned_run_is_tagged(store: str) -> None:
    result = _tune(store, trials=3)
    client = MlflowClient(store)
    parent = client.get_run(result.parent_run_id)
    assert parent.data.tags[names.TAG_KIND] == names.KIND_TUNE
    assert parent.info.status == "FINISHED"

    trials = _runs(client, **{names.TAG_KIND: names.KIND_TUNE_TRIAL})
    assert len(trials) == 3
    for run in trials:
        assert run.data.tags[names.TAG_PARENT_RUN] == result.parent_run_id
        assert names.TAG_METHOD not in run.data.tags  # never on the leaderboard
        assert run.data.tags[names.TAG_TRIAL_STATE] == "COMPLETE"
        # inner-split scores under their own names: a search for validation metrics skips them
        assert all(key.startswith("inner.") for key in run.data.metrics), run.data.metrics
        assert f"inner.{names.METRIC_TUNE_OBJECTIVE}" in run.data.metrics
    study = optuna.load_study(study_name=result.study, storage=f"sqlite:///{Path('optuna.db')}")
    assert {t.user_attrs["mlflow_run_id"] for t in study.trials} == {r.info.run_id for r in trials}
    assert parent.data.metrics[names.METRIC_BEST_VALUE] == pytest.approx(study.best_value)
    assert parent.data.params["best.weighted"] == str(study.best_params["weighted"])
    logged = {a.path for a in client.list_artifacts(result.parent_run_id, "tune")}
    assert {"tune/optimization_history.png", "tune/trials.csv", "tune/best_params.json"} <= logged

    tuned = client.get_run(result.final_run_id)
    assert tuned.data.tags[names.TAG_TUNED] == "true"
    assert tuned.data.tags[names.TAG_STUDY] == result.study
    assert tuned.data.tags[names.TAG_PARENT_RUN] == result.parent_run_id
    assert tuned.data.tags[names.TAG_METHOD] == "recording"
    assert tuned.data.params["weighted"] == str(study.best_params["weighted"])
    # The tuned run is an ordinary run: trained on all training pairs, scored on the
    # validation pairs the leaderboard reports.
    planted = make_planted_dataset()
    assert len(TRAINED_ON[-1].train) == len(planted.train)


def test_trials_train_and_score_on_an_inner_split_of_the_training_pairs(store: str) -> None:
    result = _tune(store, trials=2, final=False)
    planted = make_planted_dataset()
    # The objective is the degree-matched AUC on the inner split (its fraction and seed).
    inner = inner_split(planted, planted_fraction(), seed=42)
    study = optuna.load_study(study_name=result.study, storage="sqlite:///optuna.db")
    for trial in study.trials:
        model = train_popularity(inner, PopularityConfig(weighted=trial.params["weighted"]))
        assert trial.value == pytest.approx(evaluate(model, inner).metrics()["matched_auc_all"])
    n = planted.n_items
    train = _pair_keys(planted.train.item_a, planted.train.item_b, n)
    validation = planted.validation
    positives = validation.label == 1
    reported = _pair_keys(validation.item_a[positives], validation.item_b[positives], n)
    assert len(TRAINED_ON) == 2
    for data in TRAINED_ON:
        held = data.validation.label == 1
        held_out = _pair_keys(data.validation.item_a[held], data.validation.item_b[held], n)
        trained = _pair_keys(data.train.item_a, data.train.item_b, n)
        assert held_out and held_out <= train  # scored on training pairs ...
        assert not held_out & reported  # ... never on the reported validation pairs
        assert not trained & held_out and trained | held_out == train


def test_a_tuning_split_with_few_positives_warns_once(
    store: str, caplog: pytest.LogCaptureFixture
) -> None:
    def warnings() -> list[str]:
        return [r.getMessage() for r in caplog.records if "in the tuning split" in r.getMessage()]

    with caplog.at_level(logging.WARNING, logger="recsys.tracking.tuning.job"):
        _tune(store, trials=2, final=False)  # a third of the training pairs: enough
        assert warnings() == []
        _tune(store, trials=1, study="small", inner_fraction=0.05, final=False)
    (line,) = warnings()
    assert re.match(r"\S+: only \d+ held-out positives in the tuning split \(fewer than 150", line)
    assert "--inner-fraction=0.05" in line and "trials may be ranked on noise" in line
    assert "\n" not in line


def test_a_study_name_reused_with_another_method_is_refused(store: str) -> None:
    _tune(store, trials=1, study="shared", final=False)
    with pytest.raises(StudyError, match="method 'recording' \\(now 'popularity'\\)"):
        _tune(store, method="popularity", trials=2, study="shared")
    with pytest.raises(StudyError, match="fixed_params"):
        _tune(store, trials=2, study="shared", params={"crash_first": "true"})
    client = MlflowClient(store)
    assert len(_runs(client, **{names.TAG_KIND: names.KIND_TUNE_TRIAL})) == 1
    assert len(_runs(client, **{names.TAG_KIND: names.KIND_TUNE})) == 1  # refused first
    # A worker whose data lives elsewhere (another machine's paths) joins the study.
    joined = _tune(store, trials=2, study="shared", final=False, params={"data_dir": "/x"})
    assert joined.trials_run == 1 and joined.counts["complete"] == 2


def test_zero_trials_and_a_bad_space_are_errors_before_any_work(store: str) -> None:
    for args, message in (
        (["--trials", "0"], "--trials must be at least 1, got 0"),
        (["--trials", "2", "--space", "weighted=maybe"], "--space weighted"),
        (["--trials", "2", "--space", "dim=64"], "not in popularity's search space"),
        (["--trials", "2", "-P", "weighted=true"], "nothing left to tune"),
    ):
        result = CliRunner().invoke(
            cli, ["tune", "popularity", "--tracking-uri", store, "--dataset", DATASET, *args]
        )
        assert result.exit_code == 1, result.output
        assert message in result.output
    assert not Path(store.removeprefix("sqlite:///")).exists()  # nothing was tracked
    assert not Path("optuna.db").exists()


def test_an_unreachable_storage_fails_before_any_trial_naming_it(store: str) -> None:
    url = "postgresql://tuner:secret@127.0.0.1:9/studies"  # port 9: nothing listens
    result = CliRunner().invoke(
        cli,
        ["tune", "popularity", "--dataset", DATASET, "--trials", "2", "--storage", url],
        env={"MLFLOW_TRACKING_URI": store},
    )
    assert result.exit_code == 1
    assert "optuna storage postgresql://tuner:***@127.0.0.1:9/studies" in result.output
    assert "secret" not in result.output
    assert TRAINED_ON == []


def test_a_crashing_trial_is_recorded_failed_and_the_sweep_goes_on(store: str) -> None:
    result = _tune(store, trials=3, params={"crash_first": "true"})
    assert result.counts["fail"] == 1 and result.counts["complete"] == 2
    client = MlflowClient(store)
    trials = sorted(
        _runs(client, **{names.TAG_KIND: names.KIND_TUNE_TRIAL}),
        key=lambda r: int(r.data.tags[names.TAG_TRIAL]),
    )
    assert [r.info.status for r in trials] == ["FAILED", "FINISHED", "FINISHED"]
    assert "planted crash in the first trial" in trials[0].data.tags[TAG_ERROR]
    study = optuna.load_study(study_name=result.study, storage="sqlite:///optuna.db")
    assert study.trials[0].state == optuna.trial.TrialState.FAIL
    assert "planted crash" in study.trials[0].user_attrs["error"]
    assert result.final_run_id is not None  # the best of the finished trials was trained


def test_the_pruning_callback_stops_a_trial_below_the_median() -> None:
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.MedianPruner(n_startup_trials=1)
    )
    distributions = {"x": optuna.distributions.FloatDistribution(0, 1)}
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": 0.5},
            distributions=distributions,
            value=0.9,
            intermediate_values={0: 0.9},
        )
    )
    model = ItemEmbeddings(np.zeros((2, 1), np.float32), np.ones(2, bool), "cosine")
    good = PruningCallback(study.ask(), "auc_seen", lambda m: {})
    good.on_epoch_end(0, {"auc_seen": 0.95}, model)  # above the median: goes on
    bad = PruningCallback(study.ask(), "auc_seen", lambda m: {"auc_seen": 0.6})
    with pytest.raises(optuna.TrialPruned, match=r"auc_seen 0\.6000"):
        bad.on_epoch_end(0, {}, model)  # no metric from the trainer: evaluated by the hook


def _worker(store: str, storage: str, barrier: Any, first_trials: Any, trials: int) -> None:
    global FIRST_TRIAL_BARRIER
    _use_planted()
    FIRST_TRIAL_BARRIER = first_trials
    barrier.wait()  # both workers start asking at once
    request = TuneRequest(
        "recording",
        trials,
        params={"dataset": DATASET},
        study="shared",
        storage=storage,
        final=False,
    )
    run_tune(request, tracking_uri=store, progress=False, echo=lambda line: None)


def test_two_workers_share_one_study_and_run_each_trial_once(store: str, tmp_path: Path) -> None:
    trials = 8
    storage = f"sqlite:///{tmp_path / 'shared-optuna.db'}"
    MlflowClient(store).search_experiments()  # the store exists before the workers start
    context = multiprocessing.get_context("spawn")
    barrier, first_trials = context.Barrier(2), context.Barrier(2)
    workers = [
        context.Process(target=_worker, args=(store, storage, barrier, first_trials, trials))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert [w.exitcode for w in workers] == [0, 0]

    study = optuna.load_study(study_name="shared", storage=storage)
    assert sorted(t.number for t in study.trials) == list(range(trials))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    client = MlflowClient(store)
    runs = _runs(client, **{names.TAG_KIND: names.KIND_TUNE_TRIAL, names.TAG_STUDY: "shared"})
    assert sorted(int(r.data.tags[names.TAG_TRIAL]) for r in runs) == list(range(trials))
    parent_runs = _runs(client, **{names.TAG_KIND: names.KIND_TUNE})
    parents = {r.info.run_id for r in parent_runs}
    shares = sorted(r.data.metrics["trials_this_worker"] for r in parent_runs)
    assert len(shares) == 2 and shares[0] >= 1 and sum(shares) == trials  # both worked
    assert {r.data.tags[names.TAG_PARENT_RUN] for r in runs} <= parents
    assert {t.user_attrs["mlflow_run_id"] for t in study.trials} == {r.info.run_id for r in runs}


def test_main_tuned_uses_the_best_settings_and_says_which_methods_have_none(
    store: str,
) -> None:
    tuned = _tune(store, trials=2, final=False)
    lines: list[str] = []
    result = run_main_job(
        DATASET,
        ["recording", "popularity"],
        tracking_uri=store,
        progress=False,
        echo=lines.append,
        tuned=True,
    )
    assert result.ok
    text = "\n".join(lines)
    assert f"recording: study '{tuned.study}'" in text
    assert "popularity: no tuning study of planted-tune with a finished trial: defaults" in text
    client = MlflowClient(store)
    recording, popularity = (client.get_run(o.run_id) for o in result.outcomes)
    assert recording.data.tags[names.TAG_TUNED] == "true"
    assert recording.data.params["weighted"] == str(tuned.best_params["weighted"])
    assert names.TAG_TUNED not in popularity.data.tags
    board = result.leaderboard
    assert board is not None
    labels = {row.label for row in board.board.tables[0].rows}
    assert {"recording (tuned)", "popularity"} <= labels

    best = tuned.best_params["weighted"]
    given = str(not best).lower()
    lines.clear()
    result = run_main_job(
        DATASET,
        ["recording"],
        {None: {}, "recording": {"weighted": given}},
        tracking_uri=store,
        progress=False,
        echo=lines.append,
        tuned=True,
    )
    assert result.ok
    assert f"weighted={given} (given; tuned {best})" in "\n".join(lines)
    assert client.get_run(result.outcomes[0].run_id).data.params["weighted"] == str(not best)


def test_main_tuned_refuses_a_study_tuned_on_other_data_of_the_same_label(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    tuned = _tune(store, trials=2, final=False)
    other = make_planted_dataset(seed=1)  # same label (planted-tune), other content
    monkeypatch.setattr(main_job, "prepare", lambda config, **kwargs: other)
    runs_before = len(_runs(MlflowClient(store)))
    with pytest.raises(StudyError) as refused:
        run_main_job(
            DATASET,
            ["recording", "popularity"],
            tracking_uri=store,
            progress=False,
            echo=lambda line: None,
            tuned=True,
        )
    message = str(refused.value)
    assert "\n" not in message
    assert f"study {tuned.study!r}" in message
    assert f"tuned on {DATASET}, not on {DATASET}" in message and "checksum" in message
    assert f"recsys tune recording --dataset {DATASET} makes it a study of its own" in message
    assert "drop --tuned" in message
    assert len(_runs(MlflowClient(store))) == runs_before  # no method ran


def test_main_tuned_picks_the_study_tuned_on_this_data_among_same_label_ones(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tune(store, trials=2, final=False)  # the default-named study, on the planted data
    other = make_planted_dataset(seed=1)
    for module in (tune_job, main_job):
        monkeypatch.setattr(module, "prepare", lambda config, **kwargs: other)
    retuned = _tune(store, trials=2, final=False, study="recording-other")
    lines: list[str] = []
    result = run_main_job(
        DATASET, ["recording"], tracking_uri=store, progress=False, echo=lines.append, tuned=True
    )
    assert result.ok
    assert f"recording: study '{retuned.study}'" in "\n".join(lines)


def test_two_files_of_one_name_get_their_own_studies_and_each_resumes_its_own(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted, other = make_planted_dataset(), make_planted_dataset(seed=1)
    first = _tune(store, trials=1, final=False, params={"dataset": "a/pairs.csv"})
    monkeypatch.setattr(tune_job, "prepare", lambda config, **kwargs: other)
    second = _tune(store, trials=1, final=False, params={"dataset": "b/pairs.csv"})
    assert first.study == "recording-pairs.csv"  # free: the plain name
    assert re.fullmatch(r"recording-pairs\.csv-[0-9a-f]{8}", second.study)
    again = _tune(store, trials=2, final=False, params={"dataset": "b/pairs.csv"})
    assert (again.study, again.trials_run) == (second.study, 1)  # resumed, not a third
    monkeypatch.setattr(tune_job, "prepare", lambda config, **kwargs: planted)
    resumed = _tune(store, trials=2, final=False, params={"dataset": "a/pairs.csv"})
    assert (resumed.study, resumed.trials_run) == (first.study, 1)


def test_main_tuned_prefers_the_default_study_of_a_file_whose_plain_name_is_taken(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _tune(store, trials=1, final=False, params={"dataset": "a/pairs.csv"})
    other = make_planted_dataset(seed=1)
    for module in (tune_job, main_job):
        monkeypatch.setattr(module, "prepare", lambda config, **kwargs: other)
    own = _tune(store, trials=1, final=False, params={"dataset": "b/pairs.csv"})
    _tune(store, trials=3, final=False, study="more-trials", params={"dataset": "b/pairs.csv"})
    lines: list[str] = []
    result = run_main_job(
        "b/pairs.csv", ["recording"], tracking_uri=store, progress=False, echo=lines.append,
        tuned=True,
    )  # fmt: skip
    assert result.ok
    assert f"recording: study '{own.study}'" in "\n".join(lines)


def test_main_tuned_refuses_a_study_of_the_same_content_with_other_data_settings(
    store: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = make_planted_dataset()
    keyed = dataclasses.replace(planted, manifest={**planted.manifest, "cache_key": "aaaa"})
    monkeypatch.setattr(tune_job, "prepare", lambda config, **kwargs: keyed)
    tuned = _tune(store, trials=2, final=False)
    study = optuna.load_study(study_name=tuned.study, storage="sqlite:///optuna.db")
    assert study.user_attrs[DATA_KEY_ATTR] == "aaaa"
    assert study.user_attrs[DATASET_GIVEN_ATTR] == DATASET
    resplit = dataclasses.replace(planted, manifest={**planted.manifest, "cache_key": "bbbb"})
    monkeypatch.setattr(main_job, "prepare", lambda config, **kwargs: resplit)
    with pytest.raises(StudyError, match=r"other data settings.*data key aaaa, now bbbb"):
        run_main_job(DATASET, ["recording"], tracking_uri=store, progress=False, tuned=True)


def test_the_first_trial_trains_the_defaults_and_every_trial_records_its_recall(
    store: str,
) -> None:
    result = _tune(store, trials=3, final=False)
    study = optuna.load_study(study_name=result.study, storage="sqlite:///optuna.db")
    first = study.trials[0]
    assert first.user_attrs[BASELINE_ATTR] is True and first.params == {"weighted": False}
    planted = make_planted_dataset()
    inner = inner_split(planted, planted_fraction(), seed=42)
    queries = ranking_queries(inner, 10_000, 42)
    runs = {r.info.run_id: r for r in _runs(MlflowClient(store))}
    for trial in study.trials:
        model = train_popularity(inner, PopularityConfig(weighted=trial.params["weighted"]))
        recall = evaluate_ranking(model, inner, queries, intervals=False).mean("recall_at_10")
        assert trial.user_attrs[RECALL_ATTR] == pytest.approx(recall)
        logged = runs[trial.user_attrs["mlflow_run_id"]].data.metrics
        assert logged[f"{names.TRIAL_METRIC_PREFIX}{names.METRIC_RECALL_AT_10}"] == pytest.approx(
            recall
        )
    # TPE's constraint, feasible at or below zero: the defaults' recall minus the trial's.
    floor = first.user_attrs[RECALL_ATTR]
    assert [t.constraints[FLOOR_CONSTRAINT] for t in study.trials] == pytest.approx(
        [0.0] + [floor - t.user_attrs[RECALL_ATTR] for t in study.trials[1:]]
    )
    parent = MlflowClient(store).get_run(result.parent_run_id).data.metrics
    assert parent["default_recall_at_10"] == pytest.approx(first.user_attrs[RECALL_ATTR])


def _study_of(rows: list[tuple[float, float, bool]], floor: bool) -> optuna.Study:
    """A study of finished trials: (objective, recall@10, is the default trial)."""
    study = optuna.create_study(direction="maximize")
    study.set_user_attr(FLOOR_ATTR, floor)
    space = {"lr": optuna.distributions.FloatDistribution(0.001, 1.0)}
    for number, (value, recall, default) in enumerate(rows):
        attrs = {RECALL_ATTR: recall, **({BASELINE_ATTR: True} if default else {})}
        study.add_trial(
            optuna.trial.create_trial(
                params={"lr": 0.01 * (number + 1)},
                distributions=space,
                value=value,
                user_attrs=attrs,
            )
        )
    return study


def test_the_best_trial_ranks_at_least_as_well_as_the_defaults_when_the_floor_is_on() -> None:
    rows = [(0.90, 0.30, True), (0.95, 0.10, False), (0.92, 0.31, False), (0.93, 0.29, False)]
    floored = _study_of(rows, floor=True)
    best = best_trial(floored)
    assert best is not None and best.number == 2
    unfloored = best_trial(_study_of(rows, floor=False))
    assert unfloored is not None and unfloored.number == 1
    # The sweep's line for each trial says why a higher objective is not the best.
    lines = [trial_outcome("m", value, trial.user_attrs, 0.30) for (value, _, _), trial
             in zip(rows, floored.trials, strict=True)]  # fmt: skip
    assert lines[0] == "m 0.9000, recall@10 0.3000 (the defaults)"
    assert lines[1].endswith(
        "(below the ranking floor, the defaults' recall@10 0.3000: not a best)"
    )
    assert "below" not in lines[2] and "below" in lines[3]
    only_defaults = best_trial(_study_of([(0.90, 0.30, True), (0.95, 0.29, False)], True))
    assert only_defaults is not None and only_defaults.number == 0
    # Without a finished default trial there is no floor to hold to.
    no_default = best_trial(_study_of([(0.90, 0.30, False), (0.95, 0.10, False)], True))
    assert no_default is not None and no_default.number == 1


def test_without_the_floor_the_best_objective_wins(store: str) -> None:
    result = _tune(store, trials=2, final=False, ranking_floor=False)
    study = optuna.load_study(study_name=result.study, storage="sqlite:///optuna.db")
    assert study.user_attrs[FLOOR_ATTR] is False
    assert result.best_value == pytest.approx(max(t.value for t in study.trials))
    with pytest.raises(StudyError, match="ranking_floor"):  # another objective
        _tune(store, trials=3, study=result.study, final=False)
