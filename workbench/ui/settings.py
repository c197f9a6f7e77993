"""Where the app keeps window layout and recent files between runs."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtCore import QSettings

MAX_RECENT = 10


def settings_path() -> Path:
    """``$WORKBENCH_CONFIG_DIR/workbench.ini``, else the platform's config folder."""
    override = os.environ.get("WORKBENCH_CONFIG_DIR")
    if override:
        return Path(override) / "workbench.ini"
    from platformdirs import user_config_dir

    return Path(user_config_dir("workbench", appauthor=False)) / "workbench.ini"


def open_settings() -> QSettings:
    return QSettings(str(settings_path()), QSettings.Format.IniFormat)


def recent_files(settings: QSettings) -> list[str]:
    """The recent list, newest first, without files deleted or moved since (zoo names stay)."""
    value = settings.value("recent_files", [])
    if isinstance(value, str):  # QSettings gives a bare string for a one-item list
        value = [value]
    entries = [str(v) for v in value or []]
    kept = [s for s in entries if not Path(s).is_absolute() or Path(s).exists()]
    if kept != entries:
        settings.setValue("recent_files", kept)
    return kept


def remember_file(settings: QSettings, source: str) -> list[str]:
    """Put ``source`` first in the recent list (no duplicates, at most MAX_RECENT)."""
    entries = [source, *(s for s in recent_files(settings) if s != source)][:MAX_RECENT]
    settings.setValue("recent_files", entries)
    return entries
