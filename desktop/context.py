"""Shared state of the window: the current rig profile, the catalog, settings and paths."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QSettings, Signal

from rigready.assess.hardware import RigProfile
from rigready.catalog.paths import config_dir, database_path
from rigready.catalog.userfiles import regular_or_absent

if TYPE_CHECKING:
    from rigready.catalog import Catalog


class AppContext(QObject):
    """What every page shares. Pages read ``profile`` and listen to ``profile_changed``."""

    #: Emitted with the new :class:`RigProfile` after detection finishes or a profile is loaded.
    profile_changed = Signal(object)

    def __init__(
        self,
        settings: QSettings | None = None,
        db_path: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.profile: RigProfile | None = None
        if settings is None:
            config_dir().mkdir(parents=True, exist_ok=True)
            path = config_dir() / "settings.ini"
            if not regular_or_absent(path):  # a FIFO there hung the window before it showed
                logging.getLogger(__name__).warning("%s is not a regular file; settings are "
                                                    "kept for this session only", path)
                path = Path(tempfile.mkdtemp(prefix="rigready-settings-")) / "settings.ini"
            settings = QSettings(str(path), QSettings.Format.IniFormat)
        self.settings = settings
        self.database_path = db_path or database_path()
        self._catalog: Catalog | None = None

    def set_profile(self, profile: RigProfile) -> None:
        """Make ``profile`` current and tell every page."""
        self.profile = profile
        self.profile_changed.emit(profile)

    def reload_catalog(self) -> None:
        """Forget the loaded catalog (after the user set a price or installed a data pack)."""
        from rigready.catalog import default_catalog

        default_catalog.cache_clear()
        self._catalog = None

    def catalog(self) -> Catalog:
        """The built-in plus user catalog, loaded once."""
        if self._catalog is None:
            from rigready.catalog import default_catalog

            self._catalog = default_catalog()
        return self._catalog
