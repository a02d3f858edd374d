"""A PC's readiness, the same for ``rigready score`` and the Readiness page: the score with the
saved benchmark figures of that machine and the fixes priced in the user's currency."""

from __future__ import annotations

from pathlib import Path

from rigready.assess.bench.fingerprint import profile_fingerprint
from rigready.assess.bench.performance import MeasuredPerformance, measured_performance
from rigready.assess.hardware import RigProfile
from rigready.assess.score import Readiness, assess_readiness
from rigready.catalog import Catalog
from rigready.catalog.money import PriceView
from rigready.desktop.usecases.bench import load_history
from rigready.desktop.usecases.errors import UsageError


def measured_for(profile: RigProfile, db_path: Path | None = None) -> MeasuredPerformance | None:
    """The newest saved benchmark figures of the machine ``profile`` describes, if any.

    Results are matched by machine fingerprint, so a saved profile of another PC never borrows
    this PC's numbers. A missing or unreadable history simply means no measurements.
    """
    try:
        rows = load_history(limit=200, db_path=db_path)
    except (UsageError, OSError):
        return None
    mine = profile_fingerprint(profile)
    results = [r for _, fingerprint, _, r in rows if fingerprint == mine and r is not None]
    if not results:
        return None
    measured = measured_performance(results)
    return measured if measured.sources else None


def assess(profile: RigProfile, catalog: Catalog, db_path: Path | None = None, *,
           bench: bool = True) -> tuple[Readiness, PriceView]:
    """Score ``profile`` against ``catalog`` with the saved benchmark figures of its machine
    (none when ``bench`` is False), and the price view its fixes are shown in (it says how
    prices were converted)."""
    measured = measured_for(profile, db_path) if bench else None
    view = PriceView.from_catalog(catalog)
    return assess_readiness(profile, catalog, measured, view), view
