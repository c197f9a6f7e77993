"""Generated 32x32 RGB images of ten drawn shapes.

A dataset that needs no download yet is hard enough to tell models apart: shapes vary
in colour, position, size and a small rotation, over a shaded background with noise,
so accuracy is well above chance but not trivially perfect.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from workbench.core.data.dataset import ArrayDataset, read_only

SIZE = 32
CLASS_NAMES = (
    "circle",
    "ring",
    "square",
    "frame",
    "triangle",
    "diamond",
    "plus",
    "cross",
    "horizontal bar",
    "vertical bar",
)
MAX_TILT = np.pi / 12  # 15 degrees: keeps square/diamond and plus/cross apart (45 degrees)
# What makes the task hard; tuned so a small ResNet reaches about 90 % in a few epochs.
SHAPE_SIZE = (4.5, 11.0)  # half-extent in pixels
CONTRAST = (0.22, 0.6)  # brightness step between background and shape
NOISE = (0.03, 0.12)  # standard deviation of the pixel noise
DISTRACTOR_RATE = 0.5  # fraction of images with a small stray stroke


def load_shapes(train_size: int = 10000, val_size: int = 2000, seed: int = 0) -> ArrayDataset:
    """Shapes as float32 (N, 3, 32, 32) in 0..1; the same arrays for the same arguments."""
    x_train, y_train, x_val, y_val = _generate_split(int(train_size), int(val_size), int(seed))
    return ArrayDataset(
        name="shapes",
        task="classification",
        x_train=x_train,
        y_train=y_train,
        x_val=x_val,
        y_val=y_val,
        num_classes=len(CLASS_NAMES),
        class_names=CLASS_NAMES,
    )


@functools.lru_cache(maxsize=4)
def _generate_split(
    train_size: int, val_size: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    # Separate streams: the validation images do not change when train_size does.
    x_train, y_train = generate_shapes(train_size, np.random.default_rng([seed, 0]))
    x_val, y_val = generate_shapes(val_size, np.random.default_rng([seed, 1]))
    arrays = (x_train, y_train, x_val, y_val)
    read_only(*arrays)
    return arrays


def generate_shapes(count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """``count`` images (float32, N x 3 x 32 x 32) and balanced labels (int64)."""
    num_classes = len(CLASS_NAMES)
    labels = rng.permutation(np.arange(count) % num_classes).astype(np.int64)
    images = np.empty((count, 3, SIZE, SIZE), dtype=np.float32)
    chunk = 2048  # bounds the memory of the per-pixel intermediates
    for start in range(0, count, chunk):
        stop = min(start + chunk, count)
        images[start:stop] = _draw(labels[start:stop], rng)
    return images, labels


def _draw(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    n = len(labels)
    size = _column(rng.uniform(*SHAPE_SIZE, n))
    margin = size * 0.9
    cx = _column(rng.uniform(0, 1, n)) * (SIZE - 1 - 2 * margin) + margin
    cy = _column(rng.uniform(0, 1, n)) * (SIZE - 1 - 2 * margin) + margin
    angle = _column(rng.uniform(-MAX_TILT, MAX_TILT, n))
    thickness = _column(rng.uniform(0.22, 0.35, n)) * size

    u, v = _frame_coordinates(cx, cy, angle)
    distance = np.empty((n, SIZE, SIZE), dtype=np.float32)
    for cls, shape in enumerate(_SHAPES):
        rows = labels == cls
        if rows.any():
            distance[rows] = shape(u[rows], v[rows], size[rows], thickness[rows])
    coverage = _coverage(distance)

    background, foreground = _colours(n, rng)
    grid = np.arange(SIZE, dtype=np.float32) / SIZE - 0.5
    slope_x = rng.uniform(-0.3, 0.3, (n, 3, 1, 1)).astype(np.float32)
    slope_y = rng.uniform(-0.3, 0.3, (n, 3, 1, 1)).astype(np.float32)
    image = background[:, :, None, None] + slope_x * grid[None, None, None, :]
    image = image + slope_y * grid[None, None, :, None]
    image = image + coverage * (foreground - background)[:, :, None, None]
    image = _add_distractors(image, rng)
    noise = rng.uniform(*NOISE, (n, 1, 1, 1)).astype(np.float32)
    image += noise * rng.standard_normal(image.shape, dtype=np.float32)
    return np.clip(image, 0.0, 1.0)


def _column(values: np.ndarray) -> np.ndarray:
    return values.astype(np.float32)[:, None, None]


def _frame_coordinates(
    cx: np.ndarray, cy: np.ndarray, angle: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates relative to each centre, rotated into each shape's frame."""
    grid = np.arange(SIZE, dtype=np.float32)
    dx = grid[None, None, :] - cx
    dy = grid[None, :, None] - cy
    cos, sin = np.cos(angle), np.sin(angle)
    return cos * dx + sin * dy, -sin * dx + cos * dy


def _coverage(distance: np.ndarray) -> np.ndarray:
    """Signed distance -> fraction of each pixel covered (anti-aliased edge), N x 1 x H x W."""
    return np.clip(0.5 - distance, 0.0, 1.0)[:, None]


def _add_distractors(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A short stroke of another colour in about half the images, anywhere.

    Too small to be taken for a shape, it stops a model from keying on "any blob".
    """
    n = len(image)
    present = _column(rng.uniform(0, 1, n) < DISTRACTOR_RATE)
    cx = _column(rng.uniform(2, SIZE - 3, n))
    cy = _column(rng.uniform(2, SIZE - 3, n))
    angle = _column(rng.uniform(0, np.pi, n))
    length = _column(rng.uniform(1.0, 3.0, n))
    u, v = _frame_coordinates(cx, cy, angle)
    stroke = _coverage(_box(u, v, length, np.float32(0.6))) * present[:, None]
    colour = rng.uniform(0.0, 1.0, (n, 3, 1, 1)).astype(np.float32)
    return image + stroke * (colour - image)


def _colours(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Background and foreground RGB, at least a little apart in brightness."""
    background = rng.uniform(0.0, 1.0, (n, 3)).astype(np.float32)
    shift = rng.uniform(*CONTRAST, (n, 1)) * rng.choice([-1.0, 1.0], (n, 1))
    tint = rng.uniform(-0.3, 0.3, (n, 3))
    foreground = background + shift + tint
    # Flip the shift where it would leave 0..1 on average, so the contrast is kept.
    brightness = foreground.mean(axis=1, keepdims=True)
    outside = (brightness > 1.0) | (brightness < 0.0)
    foreground = np.where(outside, background - shift + tint, foreground)
    return background, np.clip(foreground, 0.0, 1.0).astype(np.float32)


# Signed distances (pixels, negative inside) in each shape's own rotated frame (u, v),
# for a size r (half-extent) and a stroke thickness t, all per image (N x 1 x 1).
Array = np.ndarray
Shape = Callable[[Array, Array, Array, Array], Array]


def _box(u: Array, v: Array, half_u: Array, half_v: Array) -> Array:
    return np.maximum(np.abs(u) - half_u, np.abs(v) - half_v)


def _circle(u: Array, v: Array, r: Array, t: Array) -> Array:
    return np.hypot(u, v) - r


def _ring(u: Array, v: Array, r: Array, t: Array) -> Array:
    return np.abs(np.hypot(u, v) - (r - t * 0.5)) - t * 0.5


def _square(u: Array, v: Array, r: Array, t: Array) -> Array:
    return _box(u, v, r * 0.8, r * 0.8)


def _frame(u: Array, v: Array, r: Array, t: Array) -> Array:
    return np.abs(_box(u, v, r * 0.85, r * 0.85) + t * 0.5) - t * 0.5


def _triangle(u: Array, v: Array, r: Array, t: Array) -> Array:
    # Equilateral, pointing up: three half-planes at distance r/2 from the centre.
    k = np.float32(np.sqrt(3.0) / 2.0)
    edges = (v - r * 0.5, -k * u - 0.5 * v - r * 0.5, k * u - 0.5 * v - r * 0.5)
    return np.maximum(np.maximum(edges[0], edges[1]), edges[2])


def _diamond(u: Array, v: Array, r: Array, t: Array) -> Array:
    return (np.abs(u) + np.abs(v)) * np.float32(np.sqrt(0.5)) - r * 0.75


def _plus(u: Array, v: Array, r: Array, t: Array) -> Array:
    return np.minimum(_box(u, v, r, t * 0.5), _box(u, v, t * 0.5, r))


def _cross(u: Array, v: Array, r: Array, t: Array) -> Array:
    s = np.float32(np.sqrt(0.5))
    return _plus(s * (u + v), s * (v - u), r, t)


def _horizontal_bar(u: Array, v: Array, r: Array, t: Array) -> Array:
    return _box(u, v, r, t * 0.6)


def _vertical_bar(u: Array, v: Array, r: Array, t: Array) -> Array:
    return _box(u, v, t * 0.6, r)


_SHAPES: tuple[Shape, ...] = (
    _circle,
    _ring,
    _square,
    _frame,
    _triangle,
    _diamond,
    _plus,
    _cross,
    _horizontal_bar,
    _vertical_bar,
)
