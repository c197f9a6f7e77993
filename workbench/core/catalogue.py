"""The process-wide registry, filled: the built-in declarations, then the plugins.

``workbench.core.registry`` defines the entry types and the container and knows no
built-in; this module is the one place that knows where the built-ins are declared
(``zoo`` for models and datasets, ``compress`` for passes) and asks the plugins to
register. Cheap: declarations only, no torch import.
"""

from __future__ import annotations

import threading

from workbench.core import compress, plugins, zoo
from workbench.core.plugins import PluginReport
from workbench.core.registry import Registry

_registry: Registry | None = None
_lock = threading.RLock()  # workers may ask for the registry while the GUI thread does


def get_registry() -> Registry:
    """The process-wide registry: built-ins declared, then plugins loaded (once).

    A plugin that fails is recorded (see ``plugin_reports``) and never stops the caller.
    """
    global _registry
    with _lock:
        if _registry is None:
            _registry = Registry()
            zoo.register_builtins(_registry)
            compress.register_builtins(_registry)
            # Already set while plugins load: a plugin's register() may call get_registry()
            # itself (same thread, re-entrant lock); other threads wait on the lock.
            plugins.load_plugins(_registry)
        return _registry


def reset_registry() -> None:
    """Forget the registry so the next ``get_registry()`` rebuilds it (tests, plugin reload)."""
    global _registry
    with _lock:
        _registry = None


def plugin_reports() -> list[PluginReport]:
    """The plugins found at start-up, loaded and failed (loads them if not yet done)."""
    get_registry()
    return plugins.last_reports()
