"""GUI test set-up: Python's cyclic garbage collector runs between tests, never in a paint event.

A test's top-level widget that only a reference cycle keeps alive (a page and its signal
connections) is destroyed when the collector finds it. If that happens at an arbitrary
allocation inside one of its own pyqtgraph views' ``paintEvent``, the C++ view is deleted under
its own paint and the process dies (SIGSEGV, seen in tests/gui/test_monitor_training.py, more
often as tests were added). pytest-qt only holds weak references, so it cannot close such a
widget first. With automatic collection off during a GUI test and one collection after it
(once pytest-qt has closed the test's widgets), garbage is freed at a safe point.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _collect_garbage_between_tests_only() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect()
        if was_enabled:
            gc.enable()
