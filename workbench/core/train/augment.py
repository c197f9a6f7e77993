"""Image augmentation for a whole batch at once, on the training device.

Hand-written because torchvision is not a dependency and its v2 transforms draw one set
of random parameters per call (so per batch, not per image). Crop-with-padding, flip
and rotation are one affine resampling per image (``affine_grid`` + ``grid_sample``
with zero fill: an integer shift with zero fill is exactly a crop of the padded image);
brightness and contrast are one multiply-add (not clamped: inputs may be
normalised to any range). Randomness comes from the run's own
generator, so a seed gives the same augmented batches and a checkpoint restores them.
"""

from __future__ import annotations

import math
from typing import Any

from workbench.core.train.config import AugmentConfig


def augmentable(sample_shape: tuple[int, ...], dtype: Any) -> bool:
    """Images only: float (C, H, W) samples."""
    return len(sample_shape) == 3 and getattr(dtype, "is_floating_point", False)


class BatchAugment:
    """Callable ``x -> augmented x`` for a float (N, C, H, W) batch."""

    def __init__(self, config: AugmentConfig, generator: Any) -> None:
        self.config = config
        self.generator = generator
        self.geometric = bool(config.crop_padding or config.hflip or config.rotation)
        self.photometric = bool(config.brightness or config.contrast)

    def __call__(self, x: Any) -> Any:
        if self.geometric:
            x = self._resample(x)
        if self.photometric:
            x = self._jitter(x)
        return x

    def _uniform(self, n: int, like: Any) -> Any:
        """n values in [-1, 1)."""
        import torch

        values = torch.rand(n, generator=self.generator, device=self.generator.device)
        return (values * 2 - 1).to(like.device, like.dtype)

    def _resample(self, x: Any) -> Any:
        import torch
        import torch.nn.functional as F

        n, _, height, width = x.shape
        cfg = self.config
        angle = self._uniform(n, x) * math.radians(cfg.rotation)
        cos, sin = torch.cos(angle), torch.sin(angle)
        flip = torch.ones_like(cos)
        if cfg.hflip:
            flip = torch.where(self._uniform(n, x) < 0, -flip, flip)
        shift_x = torch.zeros_like(cos)
        shift_y = torch.zeros_like(cos)
        if cfg.crop_padding:
            pad = cfg.crop_padding
            shifts = torch.randint(
                -pad, pad + 1, (2, n), generator=self.generator, device=self.generator.device
            ).to(x.device, x.dtype)
            # affine_grid works in [-1, 1] coordinates: one pixel is 2 / size.
            shift_x, shift_y = shifts[0] * 2 / width, shifts[1] * 2 / height
        theta = torch.stack(
            (
                torch.stack((cos * flip, -sin, shift_x), dim=1),
                torch.stack((sin * flip, cos, shift_y), dim=1),
            ),
            dim=1,
        )
        grid = F.affine_grid(theta, list(x.shape), align_corners=False)
        return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)

    def _jitter(self, x: Any) -> Any:
        n = x.shape[0]
        cfg = self.config
        shape = (n, 1, 1, 1)
        if cfg.contrast:
            mean = x.mean(dim=(1, 2, 3), keepdim=True)
            x = (x - mean) * (1 + self._uniform(n, x) * cfg.contrast).view(shape) + mean
        if cfg.brightness:
            x = x + (self._uniform(n, x) * cfg.brightness).view(shape)
        return x
