"""A MobileNetV2-style CNN for 32x32 RGB: depthwise convs, the hard case for pruning.

Inverted residual blocks (1x1 expand, 3x3 depthwise, 1x1 linear project) with residual
adds where shapes match; ``width`` scales every layer's channels.
"""

from __future__ import annotations

from torch import Tensor, nn

# (expansion, output channels, blocks, first stride), as in MobileNetV2's table.
BLOCKS = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 32, 2, 2), (4, 64, 2, 2))
STEM_WIDTH = 16
HEAD_WIDTH = 128


def _scaled(channels: int, width: float) -> int:
    """Channels times ``width``, rounded to a multiple of 8 (at least 8)."""
    return max(8, int(channels * width + 4) // 8 * 8)


def _conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    ]


class InvertedResidual(nn.Module):
    """Expand (1x1) -> depthwise 3x3 -> project (1x1, no activation), plus the input if it fits."""

    def __init__(self, cin: int, cout: int, stride: int, expansion: int) -> None:
        super().__init__()
        hidden = cin * expansion
        layers: list[nn.Module] = []
        if expansion != 1:
            layers += [*_conv_bn(cin, hidden, 1), nn.ReLU6()]
        layers += [*_conv_bn(hidden, hidden, 3, stride, groups=hidden), nn.ReLU6()]
        layers += _conv_bn(hidden, cout, 1)
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout

    def forward(self, x: Tensor) -> Tensor:
        out = self.block(x)
        return x + out if self.use_residual else out


class MobileNetStyle(nn.Module):
    """Stem, inverted-residual stages (32 -> 16 -> 8 -> 4), 1x1 head conv, pool, ``classifier``."""

    def __init__(self, num_classes: int = 10, width: float = 1.0) -> None:
        super().__init__()
        if width <= 0:
            raise ValueError("the width multiplier must be positive")
        cin = _scaled(STEM_WIDTH, width)
        layers: list[nn.Module] = [*_conv_bn(3, cin, 3), nn.ReLU6()]
        for expansion, channels, count, stride in BLOCKS:
            cout = _scaled(channels, width)
            for index in range(count):
                layers.append(InvertedResidual(cin, cout, stride if index == 0 else 1, expansion))
                cin = cout
        head = _scaled(HEAD_WIDTH, max(width, 1.0))
        layers += [*_conv_bn(cin, head, 1), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.classifier = nn.Linear(head, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.flatten(self.pool(self.features(x))))
