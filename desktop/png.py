"""Saving a widget as a PNG through the shared safe writer (:mod:`rigready.catalog.userfiles`).

Qt's ``QPixmap.save(path)`` writes in place (an interrupted save leaves half a file and a symlink
is replaced); here the image is encoded in memory, then written to a temporary file, fsynced and
renamed like every other output.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtWidgets import QWidget

from rigready.catalog.userfiles import UserFileError, write_user_file


def widget_png(widget: QWidget) -> bytes:
    """The widget as it is drawn now, PNG-encoded.

    Raises:
        UserFileError: Qt could not encode the image.
    """
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not widget.grab().save(buffer, "PNG"):
        raise UserFileError("could not encode the screenshot as PNG")
    return bytes(buffer.data().data())


def save_widget_png(widget: QWidget, path: Path, *, force: bool) -> Path:
    """Write the widget's PNG to ``path`` atomically; an existing file only with ``force``.

    Raises:
        UserFileError: the file exists without ``force``, or the write failed.
    """
    return write_user_file(path, widget_png(widget), force=force)
