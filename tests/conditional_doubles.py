"""Stand-ins for the conditional pieces that evaluation reads (the interface of issue 25), so that its tests need no
conditional network: a generator whose class k draws images around the value k, and an extractor that reads the
class back from the image's first pixel."""

from typing import Optional

import torch
from torch import nn

SIDE = 2  # images are (1, SIDE, SIDE): 4 features, enough for covariances from a few dozen samples


def conditional_images(z: torch.Tensor, labels: torch.Tensor, miss_when_negative: bool = False) -> torch.Tensor:
    """(N, 1, SIDE, SIDE) images: pixel j is labels + 0.1 * z[:, j] (z's first SIDE**2 entries); with
    `miss_when_negative` a sample whose z[:, 0] < 0 is drawn at label + 1 instead (a wrong class)."""
    shift = labels.float() + (miss_when_negative * (z[:, 0] < 0)).float()
    return (shift[:, None] + 0.1 * z[:, : SIDE * SIDE]).reshape(-1, 1, SIDE, SIDE) / 10


class FirstPixelClassifier(nn.Module):
    """An extractor whose features are the pixels and whose classifier predicts the class nearest 10 x pixel 0
    (the class `conditional_images` drew it at, when |0.1 z| < 0.5)."""

    name, weights_hash, num_features = "pixels", "0" * 16, SIDE * SIDE
    dataset = "pixel_classes"  # the data whose labels it classifies (`evaluation.classifies_labels_of`)

    def __init__(self, num_classes: int):
        super().__init__()
        self.num_classes = num_classes

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return images.flatten(1).float()

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        centres = torch.arange(self.num_classes, dtype=features.dtype, device=features.device)
        return -(10 * features[:, :1] - centres).abs()  # logits: highest for the nearest class


class ConditionalModel(nn.Module):
    """What generate, the sample grids and the callbacks read of a conditional technique: `num_classes`,
    `class_names`, the buffer `label_distribution`, `latent_dim`, `data_shape` and `sample(z, labels=None, ema=True)`,
    drawing `conditional_images` (or, for 2-D data, the point (label, 0) + 0.01 z)."""

    def __init__(self, num_classes: Optional[int] = 10, data_shape=(1, SIDE, SIDE), latent_dim: int = 8,
                 class_names: Optional[list[str]] = None, label_distribution: Optional[torch.Tensor] = None):
        super().__init__()
        self.num_classes, self.latent_dim, self.data_shape = num_classes, latent_dim, tuple(data_shape)
        self.class_names = class_names or ([str(k) for k in range(num_classes)] if num_classes else None)
        uniform = torch.full((num_classes or 1,), 1 / (num_classes or 1))
        self.register_buffer("label_distribution", uniform if label_distribution is None else label_distribution)
        self.calls: list[Optional[torch.Tensor]] = []  # the labels of every sample() call

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, ema: bool = True) -> torch.Tensor:
        if self.num_classes is not None and labels is None:
            raise ValueError("a conditional generator requires labels")
        labels = torch.zeros(len(z), dtype=torch.int64) if labels is None else labels
        self.calls.append(labels)
        if len(self.data_shape) == 1:
            return torch.stack([labels.float(), torch.zeros(len(z))], dim=1) + 0.01 * z[:, :2]
        return conditional_images(z, labels)
