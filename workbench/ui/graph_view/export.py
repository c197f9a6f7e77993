"""Save the graph canvas as a PNG or an SVG picture."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QGraphicsScene

from workbench.core.errors import WorkbenchError

MAX_SIDE = 16_000  # pixels: bigger graphs are scaled down to fit
MAX_PIXELS = 120_000_000


def export_image(scene: QGraphicsScene, path: str | Path, rect: QRectF | None = None) -> Path:
    """Write ``rect`` of the scene (all of it by default); the suffix picks PNG or SVG."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return export_png(scene, path, rect)
    if suffix == ".svg":
        return export_svg(scene, path, rect)
    raise WorkbenchError(f"cannot export the graph as {path.name}: choose a .png or .svg name")


def export_png(
    scene: QGraphicsScene, path: str | Path, rect: QRectF | None = None, scale: float = 1.5
) -> Path:
    path = Path(path)
    source = QRectF(rect) if rect is not None else scene.sceneRect()
    scale = min(scale, MAX_SIDE / max(source.width(), source.height(), 1.0))
    scale = min(scale, (MAX_PIXELS / max(source.width() * source.height(), 1.0)) ** 0.5)
    size = QSize(max(int(source.width() * scale), 1), max(int(source.height() * scale), 1))
    image = QImage(size, QImage.Format.Format_ARGB32)
    image.fill(QColor("#ffffff"))
    painter = QPainter(image)
    painter.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
    scene.render(painter, QRectF(0, 0, size.width(), size.height()), source,
                 Qt.AspectRatioMode.IgnoreAspectRatio)  # fmt: skip
    painter.end()
    if not image.save(str(path), "PNG"):
        raise WorkbenchError(f"could not write {path}")
    return path


def export_svg(scene: QGraphicsScene, path: str | Path, rect: QRectF | None = None) -> Path:
    path = Path(path)
    source = QRectF(rect) if rect is not None else scene.sceneRect()
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(QSize(int(source.width()), int(source.height())))
    generator.setViewBox(QRectF(0, 0, source.width(), source.height()))
    generator.setTitle("Workbench graph")
    generator.setDescription("Exported from the Workbench graph view")
    painter = QPainter()
    if not painter.begin(generator):
        raise WorkbenchError(f"could not write {path}")
    painter.fillRect(QRectF(0, 0, source.width(), source.height()), QColor("#ffffff"))
    scene.render(painter, QRectF(0, 0, source.width(), source.height()), source)
    painter.end()
    if not path.exists() or path.stat().st_size == 0:
        raise WorkbenchError(f"could not write {path}")
    return path
