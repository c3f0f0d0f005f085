"""The tuning job's own error, importable without loading Optuna (the CLI catches it)."""

from __future__ import annotations


class StudyError(RuntimeError):
    """A study storage cannot be used, or a study belongs to another objective."""
