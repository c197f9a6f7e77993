"""Save the graph canvas as a PNG or an SVG picture."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator
from PySide6.QtWidgets import QFileDialog, QGraphicsScene, QMessageBox, QWidget

from workbench.core.errors import WorkbenchError
from workbench.ui.app_words import error_line

FILTERS = {"PNG image (*.png)": ".png", "SVG (*.svg)": ".svg"}

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


def choose_image_path(parent: QWidget, stem: str) -> Path | None:
    """The file the user chose; a name typed without a suffix gets the chosen type's, as
    file dialogs elsewhere do (Qt's own dialog adds none on Linux)."""
    path, chosen = QFileDialog.getSaveFileName(
        parent, "Export graph", f"{stem}.png", ";;".join(FILTERS)
    )
    if not path:
        return None
    path = Path(path)
    return path if path.suffix else path.with_name(path.name + FILTERS.get(chosen, ".png"))


def export_or_explain(parent: QWidget, stem: str, write: Callable[[Path], Path]) -> Path | None:
    """Ask for a file and ``write`` the picture there; a failure (a folder that cannot be
    written, a type we do not write) is said in a dialog, not lost on stderr."""
    path = choose_image_path(parent, stem)
    if path is None:
        return None
    try:
        return write(path)
    except WorkbenchError as exc:
        box = QMessageBox(QMessageBox.Icon.Warning, "Could not export the graph",
                          error_line(exc), QMessageBox.StandardButton.Ok, parent)  # fmt: skip
        box.setObjectName("export-error")
        box.open()
        return None


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
