"""Where rigready keeps settings, data and logs (platformdirs), in one place.

``RIGREADY_HOME`` overrides all four (tests and portable installs use it): settings then live in
``$RIGREADY_HOME/config``, data in ``$RIGREADY_HOME/data``, logs in ``$RIGREADY_HOME/logs`` and
fetched copies in ``$RIGREADY_HOME/cache``. :func:`app_owned` lists what no command output may
replace (enforced by :func:`rigready.catalog.userfiles.output_target`).
"""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

APP_NAME = "rigready"


def _home_override() -> Path | None:
    value = os.environ.get("RIGREADY_HOME")
    return Path(value) if value else None


def config_dir() -> Path:
    """Folder for settings and the user's catalog additions (``catalog/*.toml``)."""
    home = _home_override()
    return home / "config" if home else Path(platformdirs.user_config_dir(APP_NAME))


def data_dir() -> Path:
    """Folder for the SQLite database (monitor samples, benchmark results) and saved profiles."""
    home = _home_override()
    return home / "data" if home else Path(platformdirs.user_data_dir(APP_NAME))


def log_dir() -> Path:
    """Folder for the rotating log file."""
    home = _home_override()
    return home / "logs" if home else Path(platformdirs.user_log_dir(APP_NAME))


def database_path() -> Path:
    """The default SQLite database shared by the monitor and the benchmark history."""
    return data_dir() / "rigready.sqlite3"


def user_catalog_dir() -> Path:
    """Folder whose TOML files add to or override the built-in catalog."""
    return config_dir() / "catalog"


def cache_dir() -> Path:
    """Folder for things fetched from the network that can be fetched again (live offers)."""
    home = _home_override()
    return home / "cache" if home else Path(platformdirs.user_cache_dir(APP_NAME))


#: The folder under :func:`data_dir` where installed catalog packs live (``catalog.pack``).
PACKS_FOLDER = "catalog-packs"


def app_owned() -> tuple[tuple[Path, ...], tuple[Path, ...]]:
    """``(files, folders)`` rigready owns: no command's output may replace them.

    The files: the default database (its ``-wal``/``-shm``/``.lock`` are recognised by name
    next to any database). The folders, whole: settings (``settings.ini``, ``prices.json``, the
    user's catalog files and price overrides), logs, the cache and the installed packs.
    """
    return ((database_path(),),
            (config_dir(), log_dir(), cache_dir(), data_dir() / PACKS_FOLDER))
