"""Workbench: make neural networks smaller and faster."""

__version__ = "0.1.0"
