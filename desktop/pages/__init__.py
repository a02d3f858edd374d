"""The window's pages, in navigation order.

Each page lives in its own module as a ``QWidget`` subclass constructed with the
:class:`~desktop.context.AppContext`. A page whose module is not present is left out of the
navigation (so the window works while an area is still being built).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PageSpec:
    """Where to find one page: its key (``--page``), title, module and class."""

    key: str
    title: str
    module: str
    class_name: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("this-pc", "This PC", "rigready.desktop.pages.this_pc", "ThisPcPage"),
    PageSpec("readiness", "Readiness", "rigready.desktop.pages.readiness", "ReadinessPage"),
    PageSpec("can-i-run", "Can I run it?", "rigready.desktop.pages.can_i_run", "CanIRunPage"),
    PageSpec("upgrade", "Upgrade wizard", "rigready.desktop.pages.upgrade", "UpgradePage"),
    PageSpec("benchmarks", "Benchmarks", "rigready.desktop.pages.benchmarks", "BenchmarksPage"),
    PageSpec("monitor", "Monitor", "rigready.desktop.pages.monitor", "MonitorPage"),
)


def page_keys() -> tuple[str, ...]:
    """Every page key, for ``--page`` validation and help."""
    return tuple(p.key for p in PAGES)
