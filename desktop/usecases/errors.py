"""The error the user's own input causes, shared by the command line and the window."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: printed as one line, exit status 2."""
