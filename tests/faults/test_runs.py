"""Faults around a run's lifetime: checkpoints, signals, resuming, a store made in parallel.

Before issue 16: a checkpoint of another split was silently resumed (a FINISHED run with
an inflated AUC), another dataset's was a "size mismatch" traceback; SIGTERM left runs
RUNNING for ever and Ctrl-C marked them FAILED with no reason; resuming started a new run;
two commands on a fresh sqlite store crashed and could leave it half-migrated for good.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
import torch
from mlflow.tracking import MlflowClient

from recsys.tracking import names
from recsys.training.checkpoint import CHECKPOINT_NAME
from tests.faults.conftest import (
    FAST_MF,
    OTHER,
    TINY,
    all_runs,
    assert_one_error_line,
    assert_store_usable,
    cli_process,
    recsys,
    train_args,
)


def mf_args(store: str, data_dir: Path, checkpoint_dir: Path, *params: str) -> list[str]:
    return train_args("mf", store, data_dir, *FAST_MF, "-P", f"checkpoint_dir={checkpoint_dir}",
                      *params)  # fmt: skip


def epochs_done(checkpoint_dir: Path) -> int:
    payload = torch.load(checkpoint_dir / CHECKPOINT_NAME, map_location="cpu", weights_only=False)
    return int(payload["epochs_done"])


@pytest.mark.parametrize("change", ["split_seed", "dataset"])
def test_a_checkpoint_of_other_training_data_is_refused_not_reused(
    change: str, store: str, data_dir: Path, tmp_path: Path, no_debug: None
) -> None:
    checkpoint_dir = tmp_path / "checkpoints"
    first = recsys(*mf_args(store, data_dir, checkpoint_dir, "-P", "epochs=1"))
    assert first.exit_code == 0, first.output
    first_id = first.output.strip().splitlines()[-1]
    saved = (checkpoint_dir / CHECKPOINT_NAME).read_bytes()

    args = mf_args(store, data_dir, checkpoint_dir, "-P", "epochs=2")
    if change == "split_seed":
        args += ["-P", "split_seed=7"]
    else:
        args[args.index(TINY)] = OTHER
    line = assert_one_error_line(recsys(*args), str(checkpoint_dir / CHECKPOINT_NAME))
    assert "other training data" in line and "delete it or set another checkpoint_dir" in line

    assert (checkpoint_dir / CHECKPOINT_NAME).read_bytes() == saved  # kept as it was
    (run,) = all_runs(store)  # refused before a run opened: no FINISHED run of wrong results
    assert (run.info.run_id, run.info.status) == (first_id, "FINISHED")


def test_a_truncated_checkpoint_is_named_with_what_to_do(
    store: str, data_dir: Path, tmp_path: Path, no_debug: None
) -> None:
    checkpoint_dir = tmp_path / "checkpoints"
    assert recsys(*mf_args(store, data_dir, checkpoint_dir, "-P", "epochs=1")).exit_code == 0
    path = checkpoint_dir / CHECKPOINT_NAME
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    result = recsys(*mf_args(store, data_dir, checkpoint_dir, "-P", "epochs=2"))
    assert_one_error_line(result, f"checkpoint {path} cannot be read", "delete it")
    assert len(all_runs(store)) == 1
    assert_store_usable(store, data_dir)


def test_sigterm_and_sigint_end_the_run_killed_and_resuming_continues_it(
    store: str, data_dir: Path, tmp_path: Path, no_debug: None
) -> None:
    """Real signals on `recsys train` processes during training (both at once: 2 cores)."""
    stops = {signal.SIGTERM: tmp_path / "term", signal.SIGINT: tmp_path / "int"}
    processes = {}
    for stop, folder in stops.items():
        folder.mkdir()
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        args = mf_args(uri, data_dir, folder / "checkpoints", "-P", "epochs=1000")
        processes[stop] = cli_process(args, cwd=folder)
    deadline = time.monotonic() + 180
    waiting = dict(processes)
    while waiting:  # stop each process once its first epoch's checkpoint is written
        for stop, process in list(waiting.items()):
            assert process.poll() is None, process.communicate()
            if (stops[stop] / "checkpoints" / CHECKPOINT_NAME).exists():
                process.send_signal(stop)
                del waiting[stop]
        assert time.monotonic() < deadline, "training never wrote a checkpoint"
        time.sleep(0.1)

    for stop, process in processes.items():
        folder = stops[stop]
        _, stderr = process.communicate(timeout=120)
        assert process.returncode != 0, stop.name
        assert "Traceback" not in stderr, stderr
        assert "Aborted!" not in stderr and f"Stopped by {stop.name}." in stderr, stderr
        assert process.returncode == 128 + stop.value
        uri = f"sqlite:///{folder / 'mlflow.db'}"
        (stopped,) = all_runs(uri)
        assert stopped.info.status == "KILLED", stop.name
        assert stopped.data.tags[names.TAG_STOPPED_BY] == stop.name

        done = epochs_done(folder / "checkpoints")
        assert done >= 1
        # Another split in the same folder is refused and leaves the stopped run as it was.
        other = mf_args(uri, data_dir, folder / "checkpoints", "-P", "split_seed=7")
        assert_one_error_line(recsys(*other), "other training data")
        assert epochs_done(folder / "checkpoints") == done
        after = MlflowClient(uri).get_run(stopped.info.run_id)
        assert (after.info.status, after.data.tags, after.data.params) == (
            stopped.info.status, stopped.data.tags, stopped.data.params)  # fmt: skip

        # Resuming finishes the same run from the kept checkpoint.
        args = mf_args(uri, data_dir, folder / "checkpoints", "-P", f"epochs={done + 1}")
        resumed = recsys(*args)
        assert resumed.exit_code == 0, resumed.output
        assert resumed.output.strip().splitlines()[-1] == stopped.info.run_id
        run = MlflowClient(uri).get_run(stopped.info.run_id)
        assert run.info.status == "FINISHED" and run.data.tags[names.TAG_RESUMED] == "true"
        assert names.TAG_STOPPED_BY not in run.data.tags  # it finished: no signal ended it
        assert run.data.tags[names.TAG_RESUMED_AFTER] == stop.name
        assert epochs_done(folder / "checkpoints") == done + 1
        assert len(all_runs(uri)) == 1


def test_parallel_first_use_of_a_fresh_store_leaves_it_usable(
    data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `recsys train` and a `recsys leaderboard --log` (looking alone creates no store)
    on a store that does not exist yet, started a little apart so that the later ones arrive
    while the first one migrates it."""
    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'fresh.db'}"
    commands = [train_args("popularity", uri, data_dir),
                ["leaderboard", "--tracking-uri", uri, "--log"],
                train_args("popularity", uri, data_dir)]  # fmt: skip
    processes = []
    for args in commands:
        processes.append(cli_process(args, cwd=tmp_path))
        time.sleep(0.5)
    errors = [p.communicate(timeout=300)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err[-2000:] for err in errors]
    assert [run.info.status for run in all_runs(uri)] == ["FINISHED"] * 2
    assert_store_usable(uri, data_dir)
