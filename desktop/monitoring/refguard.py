"""Guard against a reference-count bug of PySide6 6.12 on Python 3.11 (Qt-free).

PySide6 6.12.0 (the ``cp310-abi3`` wheel) returns ``None`` from every void method without taking
a reference, and hands back ``True``/``False`` from some Python overrides of bool virtuals
without one either. On Python 3.12+ these objects are immortal (PEP 683) and nothing happens;
on Python 3.11 every call lowers their count by one, and once it reaches zero the interpreter
aborts with "Fatal Python error: none_dealloc" (or ``bool_dealloc``). Live charts make thousands
of such calls per second: measured here, ``QPainter.drawLine``, ``QLabel.setText`` and
``QGraphicsItem.setPos`` each drop one reference to ``None`` per call, and a pyqtgraph plot
updated 500 times crashed the process.

:func:`make_singletons_immortal` does by hand what Python 3.12 does: it gives ``None``,
``True`` and ``False`` a reference count so large that no run can use it up. These objects are
never freed anyway, so the only effect is that the crash cannot happen.
"""

from __future__ import annotations

import ctypes
import sys

#: Extra references given to each singleton: about 1.1e12, i.e. 35 years of 1,000 leaked
#: references a second.
EXTRA_REFERENCES = 1 << 40
SINGLETONS: tuple[object, ...] = (None, True, False)


def needs_guard(version: tuple[int, int] = (sys.version_info.major, sys.version_info.minor)
                ) -> bool:
    """Whether singletons are mortal on this Python (before 3.12)."""
    return version < (3, 12)


def make_singletons_immortal() -> bool:
    """Raise the reference counts of ``None``, ``True`` and ``False`` once (idempotent).

    Returns:
        True when counts were raised now; False on Python 3.12+ or when already done.
    """
    if not needs_guard() or sys.implementation.name != "cpython":
        return False
    done = False
    for obj in SINGLETONS:
        # CPython 3.11 object header: the first field is Py_ssize_t ob_refcnt.
        count = ctypes.c_ssize_t.from_address(id(obj))
        if count.value < EXTRA_REFERENCES:
            count.value += EXTRA_REFERENCES
            done = True
    return done
