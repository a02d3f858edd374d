"""Verdicts in plain words, shared by the plan's text, its settings list and the GUI."""

from __future__ import annotations

#: Verdicts in plain words.
VERDICT_TEXT = {"fits": "fits", "tight": "tight fit", "offload": "only with CPU offload (slow)",
                "no": "does not fit", "no GPU": "no GPU", "ready": "ready",
                "not ready": "not ready"}


def verdict_text(verdict: str) -> str:
    """A verdict in plain words (``no`` -> ``does not fit``)."""
    return VERDICT_TEXT.get(verdict, verdict)
