"""The one exception type for unusable input data.

Every stage that reads a file the user pointed at raises :class:`DataError` with a message
that names the file (and line, where there is one) and says what to do about it, so the CLI
can print it as is instead of a traceback.
"""

from __future__ import annotations


class DataError(ValueError):
    """Input data that cannot be used: missing, empty, unreadable or without any pair."""
