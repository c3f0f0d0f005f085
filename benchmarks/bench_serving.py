"""Serving under load: `mlflow models serve` of a trained model, concurrent pair and top-k requests.

Trains a small model (`recsys train skipgram` on synthetic-small, quick settings) into a
temporary sqlite store, serves ``runs:/<id>/model`` with ``mlflow models serve
--env-manager local`` on a free loopback port, waits for /ping, then runs a bounded load
test: ``--clients`` threads, each with one keep-alive connection, send ``--requests``
requests in all (a mix of pair-scoring and top-k requests, ``--unknown-share`` of the
product ids unknown), stopping early after ``--max-seconds``. Every answer must be HTTP
200 and strict JSON (NaN or Infinity counts as an error), with one prediction per row,
a null score exactly where a product is unknown and finite numbers elsewhere. The server's
RSS (its process and children, psutil) is sampled before, during (a trace point every
``--rss-every`` seconds, with the requests sent so far) and after the load; the trend
(RSS at each quarter of the requests, the second half's slope) says whether it levels off.
The server is stopped in a ``finally``, whatever happens. Loopback only.

    python benchmarks/bench_serving.py --json docs/results/bench_serving.json
    python benchmarks/bench_serving.py --run-id <id> --tracking-uri sqlite:///mlflow.db

Prints a table and writes the figures as JSON to ``--json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
import requests
from results import write_result

REPO_ROOT = Path(__file__).resolve().parents[1]
QUICK_SKIPGRAM = ("dim=32", "epochs=1", "walks_per_node=3", "optimizer=sgd", "lr=0.1")


@dataclass
class ClientLog:
    """What one client thread saw."""

    sent: int = 0
    latency_ms: dict[str, list[float]] = field(default_factory=lambda: {"pairs": [], "top-k": []})
    errors: list[str] = field(default_factory=list)


def child_env(tracking_uri: str) -> dict[str, str]:
    """This checkout's recsys first on the path (the model is code that imports it)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), env.get("PYTHONPATH", "")])
    env["MLFLOW_TRACKING_URI"] = tracking_uri
    env["MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"] = "false"
    return env


def train_model(args: argparse.Namespace, tracking_uri: str, workdir: Path) -> str:
    """``recsys train`` in a subprocess; the model URI of its run."""
    params = [p for assignment in (*QUICK_SKIPGRAM, *args.param) for p in ("-P", assignment)]
    command = [sys.executable, "-m", "recsys", "train", args.method, "--dataset", args.dataset,
               "--data-dir", str(args.data_dir), "-q", *params]  # fmt: skip
    done = subprocess.run(
        command, cwd=workdir, env=child_env(tracking_uri), capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"training failed:\n{done.stderr[-3000:]}")
    return f"runs:/{done.stdout.strip().splitlines()[-1]}/model"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_rss_mb(server: psutil.Process) -> float:
    """RSS of the server and every process it started (uvicorn workers)."""
    total = 0
    for process in [server, *server.children(recursive=True)]:
        try:
            total += process.memory_info().rss
        except psutil.Error:  # a worker that just exited
            pass
    return total / 2**20


def wait_for_ping(url: str, server: subprocess.Popen[bytes], timeout_s: float) -> float:
    started = time.perf_counter()
    while time.perf_counter() - started < timeout_s:
        if server.poll() is not None:
            raise SystemExit(f"the model server exited with {server.returncode}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise SystemExit(f"the model server did not answer {url} within {timeout_s:.0f} s")


def strict_json(text: str) -> Any:
    def refuse(constant: str) -> None:
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


def check_answer(kind: str, body: Any, frame: pd.DataFrame, unknown: np.ndarray) -> str | None:
    """None when the answer fits the request; else what is wrong."""
    predictions = body.get("predictions") if isinstance(body, dict) else None
    if not isinstance(predictions, list) or len(predictions) != len(frame):
        return f"{kind}: {len(frame)} rows sent, predictions {str(body)[:80]}"
    for row, is_unknown in zip(predictions, unknown, strict=True):
        if kind == "pairs":
            score = row.get("score")
            if is_unknown != (score is None) or (score is not None and not math.isfinite(score)):
                return f"pairs: score {score!r} for a row with unknown={is_unknown}"
        elif is_unknown != (row.get("similar") == []):
            return f"top-k: {len(row.get('similar') or [])} neighbours, unknown={is_unknown}"
        elif not all(math.isfinite(score) for score in row.get("scores") or []):
            return f"top-k: scores {row.get('scores')!r}"
    return None


def make_request(
    rng: np.random.Generator, asins: np.ndarray, args: argparse.Namespace
) -> tuple[str, dict[str, Any], pd.DataFrame, np.ndarray]:
    """(kind, JSON body, the rows, which rows hold an unknown product)."""
    topk = rng.random() < args.topk_share
    rows = args.queries_per_request if topk else args.pairs_per_request
    ids = asins[rng.integers(0, asins.size, (rows, 1 if topk else 2))].astype(object)
    strangers = rng.random(ids.shape) < args.unknown_share
    ids[strangers] = [f"UNKNOWN-{i}" for i in rng.integers(0, 10**9, int(strangers.sum()))]
    columns = ["product"] if topk else ["product1", "product2"]
    frame = pd.DataFrame(ids, columns=columns)
    body: dict[str, Any] = {"dataframe_split": frame.to_dict(orient="split", index=False)}
    if topk:
        body["params"] = {"k": args.k}
    return ("top-k" if topk else "pairs"), body, frame, strangers.any(axis=1)


class Budget:
    """A fixed number of requests and a deadline, shared by the client threads."""

    def __init__(self, n_requests: int, seconds: float) -> None:
        self.left = n_requests
        self.deadline = time.perf_counter() + seconds
        self.timed_out = False
        self.lock = threading.Lock()

    def take(self) -> bool:
        with self.lock:
            if self.left <= 0:
                return False
            if time.perf_counter() > self.deadline:
                self.timed_out = True
                return False
            self.left -= 1
            return True


def client(
    index: int, url: str, asins: np.ndarray, args: argparse.Namespace, budget: Budget
) -> ClientLog:
    """Send requests on one keep-alive connection until the budget is spent."""
    log = ClientLog()
    rng = np.random.default_rng([args.seed, index])
    with requests.Session() as session:
        while budget.take():
            kind, body, frame, unknown = make_request(rng, asins, args)
            log.sent += 1
            started = time.perf_counter()
            try:
                response = session.post(url, json=body, timeout=args.timeout)
                text = response.text
            except requests.RequestException as error:
                log.errors.append(f"{kind}: {type(error).__name__}: {error}")
                continue
            log.latency_ms[kind].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                log.errors.append(f"{kind}: HTTP {response.status_code}: {text[:200]}")
                continue
            try:
                problem = check_answer(kind, strict_json(text), frame, unknown)
            except ValueError as error:
                problem = f"{kind}: invalid JSON ({error})"
            if problem:
                log.errors.append(problem)
    return log


def run_load(
    url: str, asins: np.ndarray, args: argparse.Namespace, n_requests: int, server: psutil.Process
) -> dict[str, Any]:
    """``n_requests`` from ``args.clients`` threads (or fewer at the deadline): figures,
    with the server's RSS traced along the way."""
    budget = Budget(n_requests, args.max_seconds)
    memory = RssSampler(server, lambda: n_requests - budget.left, args.rss_every)
    logs = [ClientLog() for _ in range(args.clients)]

    def work(i: int) -> None:
        logs[i] = client(i, url, asins, args, budget)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(args.clients)]
    started = time.perf_counter()
    with memory:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds = time.perf_counter() - started
    errors = [error for log in logs for error in log.errors]
    kinds: dict[str, Any] = {}
    for kind in ("pairs", "top-k"):
        latency = np.array([ms for log in logs for ms in log.latency_ms[kind]])
        kinds[kind] = {
            "requests": int(latency.size),
            "p50_ms": round(float(np.percentile(latency, 50)), 2) if latency.size else None,
            "p99_ms": round(float(np.percentile(latency, 99)), 2) if latency.size else None,
            "mean_ms": round(float(latency.mean()), 2) if latency.size else None,
        }
    answered = sum(k["requests"] for k in kinds.values())
    return {
        "requests": sum(log.sent for log in logs),
        "seconds": round(seconds, 2),
        "requests_per_second": round(answered / seconds, 1),
        "stopped_by_deadline": budget.timed_out,
        "errors": len(errors),
        "first_errors": errors[:5],
        "kinds": kinds,
        "rss_peak_mb": round(memory.peak_mb, 1),
        "rss_trace": memory.trace,
        "rss_trend": rss_trend(memory.trace),
    }


class RssSampler:
    """The server's RSS every 0.2 s while the load runs (``with`` block): the peak, and a
    trace point ``[seconds, requests started, MB]`` every ``every`` seconds and at the end."""

    def __init__(
        self, server: psutil.Process, requests_started: Callable[[], int], every: float
    ) -> None:
        self.server, self.peak_mb = server, 0.0
        self.requests_started, self.every = requests_started, every
        self.trace: list[list[float]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _point(self, started: float, rss: float) -> None:
        seconds = round(time.perf_counter() - started, 1)
        self.trace.append([seconds, int(self.requests_started()), round(rss, 1)])

    def _sample(self) -> None:
        started = next_point = time.perf_counter()
        rss = server_rss_mb(self.server)
        self._point(started, rss)
        next_point += self.every
        while not self.stop.wait(0.2):
            rss = server_rss_mb(self.server)
            self.peak_mb = max(self.peak_mb, rss)
            if time.perf_counter() >= next_point:
                self._point(started, rss)
                next_point += self.every
        self._point(started, server_rss_mb(self.server))

    def __enter__(self) -> RssSampler:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def rss_trend(trace: list[list[float]]) -> dict[str, float] | None:
    """Whether memory levels off: the RSS at each quarter of the requests, and the slope of
    a straight line fitted to the second half (MB per 10,000 requests; 0 = flat)."""
    if len(trace) < 8:
        return None
    requests_done = np.array([point[1] for point in trace], dtype=float)
    rss = np.array([point[2] for point in trace])
    total = requests_done[-1]
    quarters = {
        f"rss_at_{q}_percent_mb": float(rss[np.searchsorted(requests_done, total * q / 100)])
        for q in (25, 50, 75)
    }
    second_half = requests_done >= total / 2
    slope = np.polyfit(requests_done[second_half], rss[second_half], 1)[0]
    first_half_peak = float(rss[~second_half].max())
    return {
        **quarters,
        "rss_at_end_mb": float(rss[-1]),
        "first_half_peak_mb": first_half_peak,
        "second_half_peak_mb": float(rss[second_half].max()),
        "second_half_slope_mb_per_10k_requests": round(float(slope) * 10_000, 2),
    }


def known_asins(tracking_uri: str, run_id: str) -> np.ndarray:
    """The asins with a trained vector, from the run's vocabulary artifact."""
    from mlflow.tracking import MlflowClient  # imported on use: the load test needs none

    from recsys.tracking.progress import artifact_progress_bars

    with artifact_progress_bars(False):
        folder = Path(MlflowClient(tracking_uri).download_artifacts(run_id, "embeddings"))
    vocabulary = pd.read_parquet(folder / "vocabulary.parquet")
    return vocabulary.loc[vocabulary["known"], "asin"].astype(str).to_numpy()


def serve(
    model_uri: str, tracking_uri: str, port: int, workers: int, log: Path
) -> subprocess.Popen[bytes]:
    """``mlflow models serve`` in its own process group (so stopping it stops its workers)."""
    mlflow_cli = str(Path(sys.executable).with_name("mlflow"))
    command = [mlflow_cli, "models", "serve", "-m", model_uri, "--env-manager", "local",
               "-h", "127.0.0.1", "-p", str(port), "-w", str(workers)]  # fmt: skip
    return subprocess.Popen(
        command,
        env=child_env(tracking_uri),
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()


def print_table(result: dict[str, Any]) -> None:
    load = result["load"]
    print(f"{'kind':<7} {'requests':>8} {'rows':>5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8}")
    for kind, rows in (("pairs", result["pairs_per_request"]),
                       ("top-k", result["queries_per_request"])):  # fmt: skip
        k = load["kinds"][kind]
        print(f"{kind:<7} {k['requests']:>8} {rows:>5} {k['p50_ms']!s:>8} {k['p99_ms']!s:>8} "
              f"{k['mean_ms']!s:>8}")  # fmt: skip
    print(f"{load['requests_per_second']} requests/s over {load['seconds']} s from "
          f"{result['clients']} clients; errors {load['errors']}"
          + (" (stopped by --max-seconds)" if load["stopped_by_deadline"] else ""))  # fmt: skip
    rss = result["server_rss_mb"]
    print(f"server RSS MB: ready {rss['ready']}, after warm-up {rss['after_warmup']}, "
          f"peak under load {load['rss_peak_mb']}, end {rss['end']} "
          f"(growth over the load {rss['growth']:+})")  # fmt: skip
    trend = load["rss_trend"]
    if trend:
        slope = trend["second_half_slope_mb_per_10k_requests"]
        print(
            f"server RSS MB at 25/50/75/100% of the requests: {trend['rss_at_25_percent_mb']} "
            f"/ {trend['rss_at_50_percent_mb']} / {trend['rss_at_75_percent_mb']} / "
            f"{trend['rss_at_end_mb']}; second half's slope {slope:+} MB per 10k requests"
        )
    for error in load["first_errors"]:
        print(f"  error: {error}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="skipgram")
    parser.add_argument("--dataset", default="synthetic-small")
    parser.add_argument("-P", "--param", action="append", default=[], metavar="KEY=VALUE",
                        help="training parameter (after the quick skip-gram ones)")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=REPO_ROOT / "data")
    parser.add_argument("--run-id", help="serve this run's model instead of training one")
    parser.add_argument("--tracking-uri", help="the store of --run-id")
    parser.add_argument("--requests", type=int, default=5000, help="requests in all")
    parser.add_argument("--warmup", type=int, default=200, help="requests before measuring")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="stop the load here")
    parser.add_argument("--clients", type=int, default=8, help="concurrent client threads")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--topk-share", type=float, default=0.5)
    parser.add_argument("--pairs-per-request", type=int, default=16)
    parser.add_argument("--queries-per-request", type=int, default=4)
    parser.add_argument("--k", type=int, default=10)
    parser.add_argument("--unknown-share", type=float, default=0.1,
                        help="share of product ids replaced by unknown ones")  # fmt: skip
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    parser.add_argument("--rss-every", type=float, default=5.0,
                        help="seconds between points of the server's RSS trace")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures here")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        workdir = Path(tmp)
        if args.run_id:
            tracking_uri, run_id = (
                args.tracking_uri or os.environ["MLFLOW_TRACKING_URI"],
                args.run_id,
            )
            train_seconds = None
        else:
            tracking_uri = f"sqlite:///{workdir / 'mlflow.db'}"
            started = time.perf_counter()
            run_id = train_model(args, tracking_uri, workdir).split("/")[1]
            train_seconds = round(time.perf_counter() - started, 1)
        model_uri = f"runs:/{run_id}/model"
        asins = known_asins(tracking_uri, run_id)
        port = free_port()
        server = serve(model_uri, tracking_uri, port, args.workers, workdir / "serve.log")
        try:
            ready_seconds = wait_for_ping(f"http://127.0.0.1:{port}/ping", server, 180)
            process = psutil.Process(server.pid)
            rss = {"ready": round(server_rss_mb(process), 1)}
            url = f"http://127.0.0.1:{port}/invocations"
            warmup = run_load(url, asins, args, args.warmup, process)
            rss["after_warmup"] = round(server_rss_mb(process), 1)
            load = run_load(url, asins, args, args.requests, process)
            rss["end"] = round(server_rss_mb(process), 1)
            rss["growth"] = round(rss["end"] - rss["after_warmup"], 1)
        finally:
            stop(server)
            server_log = (workdir / "serve.log").read_text(errors="replace")
    if warmup["errors"] or load["errors"]:
        print(server_log[-3000:], file=sys.stderr)
    result = {
        "method": args.method,
        "dataset": args.dataset,
        "params": [*QUICK_SKIPGRAM, *args.param] if not args.run_id else [],
        "n_known_products": int(asins.size),
        "train_seconds": train_seconds,
        "server_ready_seconds": round(ready_seconds, 1),
        "workers": args.workers,
        "clients": args.clients,
        "topk_share": args.topk_share,
        "pairs_per_request": args.pairs_per_request,
        "queries_per_request": args.queries_per_request,
        "k": args.k,
        "unknown_share": args.unknown_share,
        "warmup_errors": warmup["errors"],
        "load": load,
        "server_rss_mb": rss,
        "cpu_count": os.cpu_count(),
    }
    print_table(result)
    if args.json:
        write_result(args.json, result)
    if warmup["errors"] or load["errors"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
