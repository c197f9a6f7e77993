"""The Qt-free core: loading, describing, training, compressing, measuring, exporting.

Nothing below this package imports PySide6 or pyqtgraph (tests/core/test_no_qt.py checks).
"""
