"""The window's live-monitoring pieces: the sampler controller, charts, value tiles, the
second-screen training monitor, alert settings and desktop notifications.

``format`` and ``replay`` are Qt-free; the other modules import PySide6/pyqtgraph.
"""
