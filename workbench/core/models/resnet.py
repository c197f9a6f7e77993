"""A CIFAR-style ResNet for 32x32 RGB: the main subject of pruning and distillation.

``width`` and ``depth`` multipliers make smaller students of the same family
(``zoo:resnet_shapes:width=0.5``).
"""

from __future__ import annotations

from torch import Tensor, nn

BASE_WIDTHS = (32, 64, 128)
BASE_BLOCKS = (2, 2, 2)
STEM_WIDTH = 32


class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers with a residual add; a 1x1 conv shortcut when shapes change."""

    def __init__(self, cin: int, cout: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout)
            )

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu2(out + self.shortcut(x))


class ResNetStyle(nn.Module):
    """A strided stem, three stages of basic blocks (16x16, 8x8, 4x4), pooling, ``fc``.

    The stem halves the resolution at once, which keeps the model at a few tens of
    MMACs: big enough that compute, not overhead, dominates latency at batch 1, small
    enough to train an epoch of 10,000 shapes in well under a minute on two CPU cores.
    """

    def __init__(self, num_classes: int = 10, width: float = 1.0, depth: float = 1.0) -> None:
        super().__init__()
        if width <= 0 or depth <= 0:
            raise ValueError("width and depth multipliers must be positive")
        widths = [max(8, round(w * width)) for w in BASE_WIDTHS]
        blocks = [max(1, round(b * depth)) for b in BASE_BLOCKS]
        stem = max(8, round(STEM_WIDTH * width))
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(stem),
            nn.ReLU(),
        )
        stages = []
        cin = stem
        for index, (cout, count) in enumerate(zip(widths, blocks, strict=True)):
            layers = [BasicBlock(cin, cout, stride=1 if index == 0 else 2)]
            layers += [BasicBlock(cout, cout) for _ in range(count - 1)]
            stages.append(nn.Sequential(*layers))
            cin = cout
        self.stages = nn.Sequential(*stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(cin, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.pool(self.stages(self.stem(x)))))
