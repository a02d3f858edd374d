"""The guard that keeps None/True/False alive under PySide6 6.12's refcount bug (Python 3.11)."""

from __future__ import annotations

import sys

from desktop.monitoring.refguard import EXTRA_REFERENCES, make_singletons_immortal, needs_guard


def test_only_pythons_before_3_12_need_it() -> None:
    assert needs_guard((3, 11)) and not needs_guard((3, 12)) and not needs_guard((3, 14))


def test_counts_are_raised_once() -> None:
    make_singletons_immortal()
    if needs_guard():
        for obj in (None, True, False):
            assert sys.getrefcount(obj) >= EXTRA_REFERENCES
        before = sys.getrefcount(None)
        assert make_singletons_immortal() is False  # already done: nothing added
        assert abs(sys.getrefcount(None) - before) < 1000
    else:
        assert make_singletons_immortal() is False
