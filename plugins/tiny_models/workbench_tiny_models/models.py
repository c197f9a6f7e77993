"""Tiny CNNs: convolutions, ReLU, pooling, a linear classifier. ``channels`` sets the width."""

from __future__ import annotations

from torch import Tensor, nn  # noqa: TID253 - imported only when a model is built


class TinyCNN(nn.Module):
    def __init__(self, in_channels: int, convs: int, channels: int, num_classes: int) -> None:
        super().__init__()
        if channels < 1 or convs < 1:
            raise ValueError(f"channels and convs must be at least 1, got {channels}, {convs}")
        layers: list[nn.Module] = []
        width = in_channels
        for index in range(convs):
            out = channels * 2**index
            layers += [nn.Conv2d(width, out, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)]
            width = out
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.pool(self.features(x)).flatten(1))


def tiny_digits_cnn(channels: int = 4, num_classes: int = 10) -> TinyCNN:
    return TinyCNN(1, convs=2, channels=channels, num_classes=num_classes)


def tiny_shapes_cnn(channels: int = 8, num_classes: int = 10) -> TinyCNN:
    return TinyCNN(3, convs=3, channels=channels, num_classes=num_classes)
