"""A `recsys tune` worker stopped by SIGTERM mid-trial: the running trial's run and the tune
run end KILLED naming the signal (not RUNNING for ever), and Optuna records the trial FAIL
(it counts toward --trials, so the study does not wait for it)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import optuna

from recsys.tracking import names
from tests.faults.conftest import TINY, all_runs, cli_process

# Small batches: many per epoch, so no trial's 1,000 epochs can end before the signal
# however slowly the polling below runs on a loaded machine (at batch 256 all three
# trials once ended first).
SLOW_EPOCHS_MF = ("-P", "dim=8", "-P", "batch_size=8", "-P", "device=cpu", "-P", "eval_every=1000")


def test_sigterm_mid_trial_ends_the_trial_and_tune_run_killed(
    store: str, data_dir: Path, tmp_path: Path, no_debug: None
) -> None:
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    args = ["tune", "mf", "--dataset", TINY, "--data-dir", str(data_dir), "--tracking-uri",
            store, "--storage", storage, "--study", "stopped", "--trials", "3", "--pruner",
            "none", *SLOW_EPOCHS_MF]  # fmt: skip
    process = cli_process([*args, "-P", "epochs=1000"], cwd=tmp_path)
    deadline = time.monotonic() + 180
    while True:  # stop the worker once its first trial has logged an epoch
        assert process.poll() is None, process.communicate()
        trials = [r for r in all_runs(store) if r.data.tags.get(names.TAG_KIND) == "tune_trial"]
        if (
            trials
            and f"{names.TRIAL_METRIC_PREFIX}{names.METRIC_AUC_ALL}" in trials[0].data.metrics
        ):
            break
        assert time.monotonic() < deadline, "the first trial never finished an epoch"
        time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode != 0
    assert "Traceback" not in stderr, stderr

    runs = {r.data.tags.get(names.TAG_KIND): r for r in all_runs(store)}
    for kind in (names.KIND_TUNE, names.KIND_TUNE_TRIAL):
        assert runs[kind].info.status == "KILLED", kind
        assert runs[kind].data.tags[names.TAG_STOPPED_BY] == "SIGTERM"
    study = optuna.load_study(study_name="stopped", storage=storage)
    assert [t.state for t in study.trials] == [optuna.trial.TrialState.FAIL]
