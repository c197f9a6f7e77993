"""A folder of images with one subfolder per class, read with Pillow.

Every image is converted to RGB (or grayscale when every image is), resized to one size
and scaled to 0..1. Images that cannot be used (not an image, truncated, or so large they
look like a decompression bomb) are skipped and counted in a note, never fatal; a
folder with no usable image in some class is an error naming it.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from workbench.core.data.dataset import ArrayDataset, stratified_split
from workbench.core.errors import DataError

IMAGE_SUFFIXES = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm"}
)
DEFAULT_MAX_PIXELS = 64_000_000  # more than any photo a small model trains on


@dataclass
class FileDataset(ArrayDataset):
    """An ArrayDataset read from files, with what was noticed while reading them."""

    source: str = ""
    notes: tuple[str, ...] = ()


def load_image_folder(
    folder: Path | str,
    *,
    image_size: int | tuple[int, int] = 32,
    val_fraction: float = 0.2,
    seed: int = 0,
    workers: int = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> FileDataset:
    """(N, C, H, W) float32 images and int64 labels, split stratified into train/val.

    ``workers`` threads decode images (Pillow releases the GIL while decoding);
    ``max_pixels`` is the decompression-bomb limit, checked from the header before a
    pixel is decoded.
    """
    root = Path(folder)
    if not root.is_dir():
        raise DataError(f"{root} is not a folder of class subfolders")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if len(classes) < 2:
        raise DataError(f"{root} needs at least two class subfolders, found {len(classes)}")
    files: list[tuple[Path, int]] = []
    for label, name in enumerate(classes):
        found = sorted(
            p
            for p in (root / name).rglob("*")
            if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()
        )
        files += [(p, label) for p in found]
    if not files:
        raise DataError(f"{root} holds no image files ({', '.join(sorted(IMAGE_SUFFIXES))})")
    height, width = (image_size, image_size) if isinstance(image_size, int) else image_size

    def read(item: tuple[Path, int]) -> tuple[np.ndarray | None, str]:
        return _read_image(item[0], (width, height), max_pixels)

    if workers > 0:
        with ThreadPoolExecutor(workers) as pool:
            decoded = list(pool.map(read, files))
    else:
        decoded = [read(item) for item in files]

    kept, problems = [], []
    for (pixels, reason), (path, label) in zip(decoded, files, strict=True):
        if pixels is None:
            problems.append((path, reason))
        else:
            kept.append((pixels, label))
    notes = []
    if problems:
        kinds = Counter(reason.split(":")[0] for _, reason in problems)
        first_path, first_reason = problems[0]
        notes.append(
            f"skipped {len(problems)} of {len(files)} images ("
            + ", ".join(f"{count} {kind}" for kind, count in kinds.most_common())
            + f"); first: {first_path.relative_to(root)}: {first_reason}"
        )
    labels = np.array([label for _, label in kept], dtype=np.int64)
    empty = [classes[c] for c in range(len(classes)) if not np.any(labels == c)]
    if empty:
        raise DataError(f"{root}: no readable image in class folder(s) {', '.join(empty)}")
    grayscale = all(pixels.ndim == 2 for pixels, _ in kept)
    images = np.stack([_channels_first(pixels, grayscale) for pixels, _ in kept])
    images = images.astype(np.float32) / 255.0
    train, val = stratified_split(labels, val_fraction, seed)
    return FileDataset(
        name=root.name,
        task="classification",
        x_train=images[train],
        y_train=labels[train],
        x_val=images[val],
        y_val=labels[val],
        num_classes=len(classes),
        class_names=tuple(classes),
        source=str(root),
        notes=tuple(notes),
    )


def _read_image(
    path: Path, size: tuple[int, int], max_pixels: int
) -> tuple[np.ndarray | None, str]:
    """(H, W) or (H, W, 3) uint8 pixels, or (None, "kind: reason")."""
    try:
        with Image.open(path) as image:
            pixels_in_header = image.size[0] * image.size[1]
            if pixels_in_header > max_pixels:
                return None, (
                    f"decompression bomb: {image.size[0]}x{image.size[1]} pixels is over "
                    f"the limit of {max_pixels:,}"
                )
            mode = "L" if image.mode in ("1", "L", "I;16", "I") else "RGB"
            image.draft(mode, size)  # JPEG: decode at a reduced size when it can
            converted = image.convert(mode).resize(size, Image.Resampling.BILINEAR)
            return np.asarray(converted, dtype=np.uint8), ""
    except Image.DecompressionBombError as exc:  # over twice Pillow's own limit
        return None, f"decompression bomb: {exc}"
    except Image.UnidentifiedImageError:
        return None, "corrupt: not an image Pillow can read"
    except (OSError, SyntaxError, ValueError) as exc:
        text = str(exc)
        kind = "truncated" if "truncated" in text.lower() else "corrupt"
        return None, f"{kind}: {text}"


def _channels_first(pixels: np.ndarray, grayscale: bool) -> np.ndarray:
    if grayscale:
        return pixels[None]
    if pixels.ndim == 2:
        pixels = np.repeat(pixels[:, :, None], 3, axis=2)
    return pixels.transpose(2, 0, 1)
