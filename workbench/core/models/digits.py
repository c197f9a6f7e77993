"""Small networks for the 8x8 digits: the demo models that train in seconds."""

from __future__ import annotations

from torch import Tensor, nn


def _conv_bn_relu(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
    )


class DigitsCNN(nn.Module):
    """Three conv-BN-ReLU layers with pooling and a two-layer head; ~97-99 % on digits."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.features = nn.Sequential(
            _conv_bn_relu(1, 32),
            _conv_bn_relu(32, 64),
            nn.MaxPool2d(2),  # 8x8 -> 4x4
            _conv_bn_relu(64, 64),
            nn.MaxPool2d(2),  # 4x4 -> 2x2
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(64 * 2 * 2, 128), nn.ReLU())
        self.fc = nn.Linear(128, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.head(self.features(x)))


class DigitsMLP(nn.Module):
    """Flattened pixels through two hidden Linear/ReLU layers: the smallest baseline."""

    def __init__(self, num_classes: int = 10, hidden: int = 128) -> None:
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden // 2),
            nn.ReLU(),
        )
        self.fc = nn.Linear(hidden // 2, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.layers(x))
