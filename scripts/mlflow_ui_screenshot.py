"""Open recsys's comparison view in MLflow's own UI in headless Chromium and screenshot it.

    python scripts/mlflow_ui_screenshot.py                  # recsys main, then the picture
    python scripts/mlflow_ui_screenshot.py --store mlflow.db --experiment recsys-synthetic-small

Without ``--store`` it runs the README's first command (``recsys main`` on synthetic-small,
about a minute on 2 cores) into a temporary store. Either way it starts ``mlflow server`` on
loopback against the store, opens the link ``recsys main`` prints (the experiment's runs page
on the ``recsys: methods compared`` view), waits for the table and saves
``docs/mlflow_ui.png``. It needs Chromium (Debian: ``apt-get install chromium``; or set
``RECSYS_CHROMIUM``) and ``pip install playwright``; Playwright's own browser downloads are
not used. tests/tracking/test_mlflow_ui.py drives the page with the same helpers.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
CHROMIUM_ENV = "RECSYS_CHROMIUM"
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "/usr/bin/chromium")
# Headless, sandbox-free (root in CI) and offline: no update, sync or QUIC chatter.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1920, "height": 1000}  # the view's eight metric columns beside the panel
SERVER_START_S = 180.0  # `mlflow server` imports and migrates in 10-40 s on 2 busy cores
TABLE_TIMEOUT_MS = 120_000
RUN_NAME_COLUMN = "attributes.`Run Name`"


def find_chromium() -> str | None:
    """``$RECSYS_CHROMIUM`` (None when it is not an executable), else a ``chromium`` on
    PATH or Debian's /usr/bin/chromium."""
    if os.environ.get(CHROMIUM_ENV):
        given = os.environ[CHROMIUM_ENV]
        return given if os.access(given, os.X_OK) and Path(given).is_file() else None
    for candidate in CHROMIUM_CANDIDATES:
        found = shutil.which(candidate)
        if found:
            return found
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def mlflow_server(store: Path, timeout_s: float = SERVER_START_S) -> Iterator[str]:
    """``mlflow server`` on loopback against the sqlite ``store``; yields its base URL.

    Started in its own process group (uvicorn spawns workers) and stopped with it.

    Raises:
        RuntimeError: the server exited or did not answer /health within ``timeout_s``,
            with the end of its log.
    """
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="recsys-mlflow-server-"))  # its log, its cwd
    log = workdir / "server.log"
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    command = [
        *(sys.executable, "-m", "mlflow", "server"),
        *("--backend-store-uri", f"sqlite:///{store.resolve()}"),
        *("--host", "127.0.0.1", "--port", str(port), "--workers", "1"),
    ]
    with log.open("wb") as out:
        server = subprocess.Popen(
            command, cwd=workdir, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"mlflow server exited ({server.returncode}): {_tail(log)}")
            with contextlib.suppress(OSError):
                with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            if time.monotonic() > deadline:
                raise RuntimeError(f"mlflow server silent for {timeout_s:.0f} s: {_tail(log)}")
            time.sleep(0.5)
        yield base
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def _tail(log: Path, lines: int = 15) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


@contextlib.contextmanager
def headless_browser(chromium: str) -> Iterator[Any]:
    """Playwright's Browser on headless ``chromium``; each ``new_page()`` of it is a fresh
    profile (no local storage): the UI as on a user's first visit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_runs_table(page: Any, url: str, first_column: str = RUN_NAME_COLUMN) -> None:
    """Go to ``url`` and wait until the runs table shows rows and ``first_column``."""
    page.goto(url)
    page.wait_for_selector(f'.ag-header-cell[col-id="{first_column}"]', timeout=TABLE_TIMEOUT_MS)
    page.wait_for_selector(f'.ag-row [col-id="{RUN_NAME_COLUMN}"]', timeout=TABLE_TIMEOUT_MS)
    # Rows arrive before their values; the page never goes network-idle (it auto-refreshes).
    page.wait_for_function(
        """column => {
            const cells = [...document.querySelectorAll(`.ag-row [col-id="${column}"]`)];
            return cells.length > 0 && cells.every(c => c.innerText.trim() !== "");
        }""",
        arg=first_column,
        timeout=TABLE_TIMEOUT_MS,
    )


def header_labels(page: Any) -> dict[str, str]:
    """The rendered column headers: column id -> label."""
    pairs = page.eval_on_selector_all(
        ".ag-header-cell[col-id]",
        "cells => cells.map(c => [c.getAttribute('col-id'), c.innerText.trim()])",
    )
    return dict(pairs)


def column_values(page: Any, column: str) -> list[str]:
    """One column's cell texts in the table's row order (a cell's last line: the run name
    cell starts with its colour swatch's label)."""
    cells = page.eval_on_selector_all(
        f'.ag-row[row-index] [col-id="{column}"]',
        "cells => cells.map(c => [Number(c.closest('.ag-row').getAttribute('row-index')),"
        " c.innerText.trim().split('\\n').pop()])",
    )
    return [text for _, text in sorted(cells)]


def run_main_job(folder: Path) -> Path:
    """The README's first command into ``folder``'s own store; the store's path."""
    store = folder / "mlflow.db"
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}"}
    subprocess.run(["recsys", "main", "--no-progress"], cwd=folder, env=env, check=True)
    return store


def experiment_id(store: Path, name: str) -> str:
    from mlflow import MlflowClient

    experiment = MlflowClient(f"sqlite:///{store.resolve()}").get_experiment_by_name(name)
    if experiment is None:
        raise SystemExit(f"error: {store} has no experiment {name!r}; give --experiment")
    return str(experiment.experiment_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, help="an MLflow sqlite file (default: run main)")
    parser.add_argument("--experiment", default="recsys-synthetic-small")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "mlflow_ui.png")
    args = parser.parse_args()
    chromium = find_chromium()
    if chromium is None:
        raise SystemExit(f"error: no Chromium; apt-get install chromium or set {CHROMIUM_ENV}")
    sys.path.insert(0, str(REPO))
    from recsys.tracking.comparison_view import comparison_url

    with tempfile.TemporaryDirectory(prefix="recsys-ui-") as tmp:
        store = args.store or run_main_job(Path(tmp))
        exp_id = experiment_id(store, args.experiment)
        with mlflow_server(store) as base, headless_browser(chromium) as browser:
            page = browser.new_page(viewport=VIEWPORT)
            url = comparison_url(base, exp_id)
            open_runs_table(page, url, "metrics.`matched_auc_all`")
            print(f"{url}\n  runs: {column_values(page, RUN_NAME_COLUMN)}")
            page.wait_for_timeout(1000)  # icons and fonts, for the picture only
            page.screenshot(path=str(args.out))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
