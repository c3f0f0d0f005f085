"""Real signals in the middle of training: a stop keeps every batch trained so far.

SIGTERM on `recsys train` inside an epoch must save a checkpoint at the next batch
boundary, with its place in the epoch, so that resuming trains exactly the batches left:
the result equals an uninterrupted run's. Ctrl-C on `recsys main` (SIGINT to its whole
process group, as a terminal sends it) must end both the parent run and the method run in
progress KILLED, naming the signal, keep the finished method runs FINISHED and leave a
store on which the next `recsys main` works.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import torch
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from recsys.tracking import names
from recsys.training.checkpoint import CHECKPOINT_NAME
from tests.faults.conftest import TINY, all_runs, cli_process, recsys, train_args

# Skip-gram's default CPU SGD step on walk batches (WalkBatchSource), on one thread so
# that the result is deterministic; ~80,000 batches per epoch on the tiny data, 2-4 s, so
# that a signal sent once an epoch's bar shows progress lands well inside that epoch.
ONE_THREAD_SKIPGRAM = (
    "dim=8", "batch_size=16", "walks_per_node=100", "threads=1", "device=cpu", "eval_every=500"
)  # fmt: skip


class StderrWatch:
    """Reads a process's stderr as it comes, so a test can wait for a progress line."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process, self.text, self._lock = process, "", threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        while chunk := self.process.stderr.read(1):
            with self._lock:
                self.text += chunk

    def wait_for(self, pattern: str) -> None:
        """Until the regular expression ``pattern`` matches what stderr has printed."""
        deadline = time.monotonic() + 240
        while re.search(pattern, self.text) is None:
            assert self.process.poll() is None, self.text
            assert time.monotonic() < deadline, f"{pattern!r} never appeared: {self.text}"
            time.sleep(0.02)

    def wait_inside(self, epoch_bar: str) -> None:
        """Until the progress bar ``epoch_bar`` (e.g. "epoch 2/2") shows a batch done.

        A fixed sleep after the bar appears is not enough: on a fast machine a whole
        epoch of the tiny data can pass inside it.
        """
        self.wait_for(re.escape(epoch_bar) + r":\s+\d+%\|[^|]*\|\s+[1-9]")

    def finish(self, timeout: float) -> str:
        self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return self.text


def _checkpoint(folder: Path) -> dict[str, Any]:
    return dict(torch.load(folder / CHECKPOINT_NAME, map_location="cpu", weights_only=False))


def _skipgram_args(
    store: str, data_dir: Path, checkpoint_dir: Path, epochs: int, quiet: bool = True
) -> list[str]:
    params = [*ONE_THREAD_SKIPGRAM, f"epochs={epochs}", f"checkpoint_dir={checkpoint_dir}"]
    args = train_args("skipgram", store, data_dir, *(x for p in params for x in ("-P", p)))
    return args if quiet else [a for a in args if a != "-q"]  # with progress bars


def test_sigterm_mid_epoch_checkpoints_the_batch_and_resuming_equals_a_straight_run(
    store: str, data_dir: Path, tmp_path: Path, no_debug: None
) -> None:
    straight_dir = tmp_path / "straight"
    straight = recsys(*_skipgram_args(store, data_dir, straight_dir, epochs=2))
    assert straight.exit_code == 0, straight.output

    folder = tmp_path / "stopped"
    folder.mkdir()
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    checkpoints = folder / "checkpoints"
    args = _skipgram_args(uri, data_dir, checkpoints, epochs=2, quiet=False)
    process = cli_process(args, cwd=folder)
    watch = StderrWatch(process)
    watch.wait_inside("epoch 2/2")
    process.send_signal(signal.SIGTERM)
    stderr = watch.finish(timeout=120)
    assert process.returncode != 0
    assert "Traceback" not in stderr, stderr
    assert "SIGTERM: stopping after the current batch" in stderr

    saved = _checkpoint(checkpoints)
    position = saved["in_epoch"]
    assert saved["epochs_done"] == 1 and position is not None, "stopped outside the epoch"
    assert position["batches_done"] > 0 and 0 < position["progress"] < 1
    assert f"stopped after batch {position['batches_done']} of epoch 2" in stderr
    (stopped,) = all_runs(uri)
    assert stopped.info.status == "KILLED"
    assert stopped.data.tags[names.TAG_STOPPED_BY] == "SIGTERM"

    resumed = recsys(*_skipgram_args(uri, data_dir, checkpoints, epochs=2))
    assert resumed.exit_code == 0, resumed.output
    assert resumed.output.strip().splitlines()[-1] == stopped.info.run_id
    run = MlflowClient(uri).get_run(stopped.info.run_id)
    assert run.info.status == "FINISHED" and run.data.tags[names.TAG_RESUMED] == "true"
    assert len(all_runs(uri)) == 1

    # The same tables as the run that was never stopped: no pair trained twice or skipped.
    final, expected = _checkpoint(checkpoints), _checkpoint(straight_dir)
    assert final["in_epoch"] is None and final["global_step"] == expected["global_step"]
    for name, table in expected["model"].items():
        assert torch.equal(final["model"][name], table), name
    (straight_run,) = [r for r in all_runs(store) if r.info.run_id != run.info.run_id]
    assert run.data.metrics["auc_all"] == straight_run.data.metrics["auc_all"]


def _by_method(runs: list[Run]) -> dict[str, Run]:
    return {r.data.tags.get(names.TAG_METHOD, r.data.tags.get(names.TAG_KIND)): r for r in runs}


def _main_args(store: str, data_dir: Path, checkpoint_dir: Path, epochs: int) -> list[str]:
    params = [*ONE_THREAD_SKIPGRAM, f"epochs={epochs}", f"checkpoint_dir={checkpoint_dir}"]
    return ["main", "--dataset", TINY, "--data-dir", str(data_dir), "--tracking-uri", store,
            "--methods", "popularity,skipgram",
            *(x for p in params for x in ("-P", f"skipgram.{p}"))]  # fmt: skip


def test_ctrl_c_on_recsys_main_ends_the_parent_and_the_running_method_killed(
    data_dir: Path, tmp_path: Path, no_debug: None
) -> None:
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    checkpoints = tmp_path / "checkpoints"
    process = cli_process(
        _main_args(uri, data_dir, checkpoints, epochs=50), cwd=tmp_path, start_new_session=True
    )
    # popularity has finished and skipgram is inside its second epoch
    watch = StderrWatch(process)
    watch.wait_inside("epoch 2/50")
    os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the whole foreground process group
    stderr = watch.finish(timeout=120)
    assert process.returncode != 0
    assert "Traceback" not in stderr, stderr

    runs = _by_method(all_runs(uri))
    assert set(runs) == {names.KIND_MAIN, "popularity", "skipgram"}
    parent, finished, stopped = runs[names.KIND_MAIN], runs["popularity"], runs["skipgram"]
    for run in (parent, stopped):
        assert run.info.status == "KILLED", (run.data.tags, run.info.status)
        assert run.data.tags[names.TAG_STOPPED_BY] == "SIGINT"
    assert finished.info.status == "FINISHED"
    for run in (finished, stopped):
        assert run.data.tags[names.TAG_MAIN_RUN] == parent.info.run_id
    assert _checkpoint(checkpoints)["in_epoch"] is not None  # saved at a batch boundary

    # A later `recsys main` works on the same store and finishes the stopped skipgram run.
    done = _checkpoint(checkpoints)["epochs_done"]
    again = recsys(*_main_args(uri, data_dir, checkpoints, epochs=done + 1))
    assert again.exit_code == 0, again.output
    later = [
        r for r in all_runs(uri) if r.info.run_id not in {x.info.run_id for x in runs.values()}
    ]
    later_runs = _by_method(later)
    assert set(later_runs) == {names.KIND_MAIN, "popularity", names.KIND_LEADERBOARD}
    assert all(r.info.status == "FINISHED" for r in later)
    resumed = MlflowClient(uri).get_run(stopped.info.run_id)
    assert resumed.info.status == "FINISHED" and resumed.data.tags[names.TAG_RESUMED] == "true"
    assert resumed.data.tags[names.TAG_MAIN_RUN] == later_runs[names.KIND_MAIN].info.run_id
    assert MlflowClient(uri).get_run(parent.info.run_id).info.status == "KILLED"
