"""The desktop app: PySide6 and pyqtgraph only; it calls the core, never the reverse."""
