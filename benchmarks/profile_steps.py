"""Where a torch method's time goes: setup, then N training steps under torch.profiler.

Runs a method's real ``train`` function on a prepared dataset and stops it after
``--steps`` batches (a callback raises), so every method is profiled through the code
users run. Prints the setup time (walks, features, model, batch source: everything before
the first batch), the median wall time per step (the engine reads the loss every step, so
each step ends synchronised with the device), pairs/s, and the profiler's top operators by
self time on the device (CUDA) or the CPU.

    python benchmarks/profile_steps.py --dataset synthetic-electronics --data-dir DATA \\
        --method side_info --set '{"device": "cuda", "batch_size": 65536}'
    python benchmarks/profile_steps.py --dataset synthetic-electronics:0.05 \\
        --data-dir /tmp/data --method skipgram --set '{"device": "cpu", "batch_size": 8192}'

Written to find why side_info trained >8x slower than skipgram per epoch on an H100
(docs/benchmarks.md), where the CPU shows 1.8x.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from recsys.callbacks import TrainingCallback
from recsys.config import DataConfig
from recsys.data.prepare import prepare_dataset
from recsys.methods import get_method
from recsys.training.engine import resolve_device


class StopAfter(Exception):
    """Raised by :class:`StepClock` to end training after the wanted number of steps."""


class StepClock(TrainingCallback):
    """Times setup (until the first batch ends) and each following step; stops at ``steps``."""

    def __init__(self, steps: int, warmup: int, cuda: bool) -> None:
        self.steps, self.warmup, self.cuda = steps, warmup, cuda
        self.started = time.perf_counter()
        self.setup_seconds = 0.0
        self.step_seconds: list[float] = []
        self.batch_size = 0
        self._last = 0.0
        self.profiler: Any = None
        self.profiling = False

    def on_train_begin(self, params: dict[str, Any]) -> None:
        self.setup_seconds = time.perf_counter() - self.started
        self.batch_size = int(params.get("batch_size", 0))
        self._last = time.perf_counter()

    def on_batch_end(self, step: int, metrics: dict[str, float]) -> None:
        if self.cuda:
            torch.cuda.synchronize()
        now = time.perf_counter()
        if step >= self.warmup:
            self.step_seconds.append(now - self._last)
        self._last = now
        if step == self.warmup - 1 and self.profiler is not None:
            self.profiler.start()
            self.profiling = True
        if step + 1 >= self.warmup + self.steps:
            raise StopAfter


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, help="dataset name or metadata file")
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--method", required=True)
    parser.add_argument("--set", default="{}", help="JSON method settings")
    parser.add_argument("--steps", type=int, default=30, help="profiled steps")
    parser.add_argument("--warmup", type=int, default=5, help="steps before profiling")
    parser.add_argument("--rows", type=int, default=15, help="operators in the table")
    args = parser.parse_args()

    settings: dict[str, Any] = {"progress": False, "epochs": 1, **json.loads(args.set)}
    data = prepare_dataset(DataConfig(dataset=args.dataset, data_dir=args.data_dir))
    method = get_method(args.method)
    config = method.config_class(**settings)
    cuda = resolve_device(config.device).type == "cuda"
    clock = StepClock(args.steps, args.warmup, cuda)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    clock.profiler = profile(activities=activities)
    try:
        method.train(data, config, [clock])
        print("training ended before the profiled steps were done; lower --steps")
    except StopAfter:
        pass
    finally:
        if clock.profiling:
            clock.profiler.stop()
    median = statistics.median(clock.step_seconds) if clock.step_seconds else float("nan")
    print(
        f"{args.method} on {data.name} {settings}: setup {clock.setup_seconds:.1f} s, "
        f"median step {median * 1000:.2f} ms over {len(clock.step_seconds)} steps, "
        f"{clock.batch_size / median / 1e6:.2f}M pairs/s"
    )
    sort_by = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    print(clock.profiler.key_averages().table(sort_by=sort_by, row_limit=args.rows))


if __name__ == "__main__":
    main()
