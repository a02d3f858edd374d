"""Verdicts in plain words, shared by the plan's text, its settings list and the GUI."""

from __future__ import annotations

#: Verdicts in plain words.
VERDICT_TEXT = {"fits": "fits", "tight": "tight fit", "offload": "only with CPU offload (slow)",
                "no": "does not fit", "no GPU": "no GPU", "ready": "ready",
                "not ready": "not ready", "unknown": "cannot tell yet"}


def verdict_text(verdict: str) -> str:
    """A verdict in plain words (``no`` -> ``does not fit``)."""
    return VERDICT_TEXT.get(verdict, verdict)


def need_words(need_gib: float, vram_gib: float, free_gib: float | None = None) -> str:
    """``20.4 of 24.0 GiB``, or, where the desktop or other programs keep part of the card,
    ``11.2 of the 11.0 GiB free (12 GiB card)``."""
    if free_gib is not None and free_gib < vram_gib - 0.05:
        return f"{need_gib:.1f} of the {free_gib:.1f} GiB free ({vram_gib:.0f} GiB card)"
    return f"{need_gib:.1f} of {vram_gib:.1f} GiB"


def gpu_words(gpu_name: str | None, vram_gib: float | None) -> str:
    """``NVIDIA GeForce RTX 3060 (12 GiB)``; a GPU whose memory was not read says so (it is
    not "no GPU"); ``no GPU`` only when there is none."""
    if gpu_name and vram_gib:
        return f"{gpu_name} ({vram_gib:.0f} GiB)"
    if gpu_name:
        return f"{gpu_name} (memory not read)"
    return "no GPU"
