"""How long one estimate takes (the Can I run it? page recomputes on every slider move).

Prints the median and 95th percentile of ``estimate()`` (with the largest-batch/sequence search
and suggestions) over a spread of models and jobs, and, when PySide6 is installed, of a full
page update (estimate plus redraw) driven by moving the batch slider offscreen.
Target: under 50 ms per update.
"""

from __future__ import annotations

import os
import statistics
import time
from itertools import product

from rigready.assess.estimate import Workload, estimate, gpu_from_entry, resolve_model
from rigready.catalog import default_catalog


def _summary(label: str, samples: list[float]) -> None:
    samples.sort()
    p95 = samples[int(0.95 * (len(samples) - 1))]
    print(f"{label}: median {statistics.median(samples):.2f} ms, p95 {p95:.2f} ms, "
          f"max {samples[-1]:.2f} ms over {len(samples)} runs")


def core() -> None:
    cat = default_catalog()
    gpus = [gpu_from_entry(cat.gpu(g)) for g in ("rtx-3060-12gb", "rtx-4090", "h100-sxm")]
    models = [resolve_model(m, cat.models) for m in ("gpt2-small", "llama-3.1-8b",
                                                     "mixtral-8x7b", "qwen2.5-7b", "bert-base")]
    samples = []
    for shape, gpu, method, batch in product(models, gpus, ("inference", "lora", "qlora", "full"),
                                             (1, 8)):
        wl = Workload(method=method, batch=batch, seq_len=2048)  # type: ignore[arg-type]
        start = time.perf_counter()
        estimate(shape, wl, gpu, dataset_tokens=10**8)
        samples.append((time.perf_counter() - start) * 1000)
    _summary("estimate() incl. searches and suggestions", samples)


def page() -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        from PySide6.QtCore import QObject, Signal
        from PySide6.QtWidgets import QApplication
    except ImportError:
        print("page update: PySide6 not installed, skipped")
        return
    from rigready.desktop.pages.can_i_run import CanIRunPage

    class Context(QObject):
        profile_changed = Signal(object)
        profile = None

        def catalog(self):  # type: ignore[no-untyped-def]
            return default_catalog()

    app = QApplication.instance() or QApplication([])
    context = Context()
    view = CanIRunPage(context)
    view.resize(1200, 700)
    view.show()
    view.select_model("llama-3.1-8b")
    samples = []
    for method in ("lora", "full", "inference"):
        view.form.method.setCurrentText(method)
        for value in range(1, 65):
            start = time.perf_counter()
            view.form.batch.setValue(value)  # recompute() runs synchronously
            view.repaint()
            app.processEvents()
            samples.append((time.perf_counter() - start) * 1000)
    _summary("page update on a slider move (estimate + redraw)", samples)
    view.close()
    view.deleteLater()
    app.processEvents()
    del view, context


if __name__ == "__main__":
    core()
    page()
