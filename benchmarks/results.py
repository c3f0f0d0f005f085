"""Benchmark results as JSON with their provenance, for ``docs/results/`` and its page.

A benchmark's ``--json PATH`` writes its figures through :func:`write_result`, which adds a
``provenance`` entry: when (UTC), on what machine (CPU model, cores, GPU), the exact command
line (``sys.argv``) and the git commit of the checkout. ``benchmarks/render_results.py``
turns ``docs/results/<benchmark>.json`` into ``docs/results.md`` from these alone.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recsys.evaluation.intervals import AUC_INTERVALS

REPO_ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str | None:
    """A git command's output in the repository, None without git or outside a checkout."""
    try:
        out = subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=10, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit() -> tuple[str | None, bool | None]:
    """Short hash of the checkout's HEAD and whether tracked files differ from it."""
    commit = _git("rev-parse", "--short", "HEAD") or None
    status = _git("status", "--porcelain", "--untracked-files=no") if commit else None
    return commit, None if status is None else bool(status)


def cpu_model() -> str:
    """The CPU's model name (Linux's /proc/cpuinfo), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_names() -> list[str]:
    """The GPUs ``nvidia-smi`` lists; empty without one (or without the tool)."""
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=20, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return []
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def machine() -> dict[str, Any]:
    """CPU model, its cores (all, and those this process may use), GPUs, host name."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable,
        "gpus": gpu_names(),
        "host": platform.node(),
        "python": platform.python_version(),
    }


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Date (UTC), machine, command line and git commit of the run writing a result."""
    commit, dirty = git_commit()
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "argv": list(sys.argv if argv is None else argv),
        "git_commit": commit,
        "git_dirty": dirty,
        "auc_intervals": AUC_INTERVALS,
    }


def write_result(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path`` with a ``provenance`` entry added."""
    if "provenance" in payload:
        raise ValueError("the payload already has a 'provenance' entry")
    document = {"provenance": provenance(), **payload}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


class RowLog:
    """Rows appended to a JSON-lines file as they are measured, so a stopped benchmark
    resumes: a row whose key is already in the file is kept, not measured again.

    Each row carries the commit that measured it (``git_commit``), since a resumed run can
    span several commits; ``None`` for the path keeps nothing.
    """

    def __init__(self, path: Path | None, key: Sequence[str]) -> None:
        self.path = path
        self.key = tuple(key)
        self.done: dict[tuple[Any, ...], dict[str, Any]] = {}
        if path is not None and path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    row = json.loads(line)
                    self.done[self._key_of(row)] = row

    def _key_of(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        """The row's key; a field the row predates is None, so an older row never matches
        a key that names it."""
        return tuple(row.get(name) for name in self.key)

    def get(self, **key: Any) -> dict[str, Any] | None:
        """The kept row with this key, None if it was not measured yet."""
        return self.done.get(tuple(key[name] for name in self.key))

    def add(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Record a freshly measured row (stamped with the commit) and return it."""
        stamped = {**row, "git_commit": row.get("git_commit", git_commit()[0])}
        self.done[self._key_of(stamped)] = stamped
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as out:
                out.write(json.dumps(stamped) + "\n")
        return stamped


def command_line(argv: Sequence[str]) -> str:
    """``argv`` as a shell command run from the repository root: ``python benchmarks/...``."""
    script = Path(argv[0])
    if script.is_absolute() and script.is_relative_to(REPO_ROOT):
        script = script.relative_to(REPO_ROOT)
    return shlex.join(["python", script.as_posix(), *argv[1:]])
