"""A small domain classifier as FID's feature extractor: usable offline and on CPU, for Fashion-MNIST and MNIST.

`lightning-gans train-evaluator --dataset fashion_mnist` trains the LeNet-like `DomainClassifier` on the train
split (a few minutes on CPU) and writes its weights to the cache; the extractors `lenet-fmnist` and `lenet-mnist`
load them and return the 128-d penultimate features. Inception features describe ImageNet photos; on grey 28 px
clothes a classifier trained on the domain itself separates what matters there, and needs no download.
"""

import io
import os
import time
from pathlib import Path
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gans.data.sources import load_images, load_labels
from lightning_gans.data.stream import to_float
from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics.cache import cache_dir, weights_hash

RESOLUTION = 32  # the classifier sees every image at this size
NUM_CLASSES = 10
NUM_FEATURES = 128
ARCHITECTURE_VERSION = 1  # bump when DomainClassifier changes, so old weight files are refused
EXTRACTOR_DATASETS = {"lenet-fmnist": "fashion_mnist", "lenet-mnist": "mnist"}
BATCH_SIZE = 128
DEFAULT_EPOCHS = 4  # what it took and the test accuracy it reached: README, Evaluation
LEARNING_RATE = 2e-3


class DomainClassifier(nn.Module):
    """Three conv blocks (32, 64, 128 channels, each halving the size) -> 128-d features -> 10 logits."""

    def __init__(self):
        super().__init__()

        def block(in_channels: int, out_channels: int) -> list[nn.Module]:
            return [nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
                    nn.ReLU(), nn.MaxPool2d(2)]

        self.features = nn.Sequential(
            *block(1, 32), *block(32, 64), *block(64, 128),  # 32 -> 16 -> 8 -> 4 px
            nn.Flatten(),
            nn.Linear(128 * 4 * 4, NUM_FEATURES, bias=False), nn.BatchNorm1d(NUM_FEATURES), nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(0.3), nn.Linear(NUM_FEATURES, NUM_CLASSES))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Grey (N, 1, 32, 32) in [-1, 1] -> logits (N, 10)."""
        return self.head(self.features(images))


class ClassifierFeatureExtractor(nn.Module):
    """Generator-range images (float NCHW in [-1, 1], 1 or 3 channels, any size) -> the classifier's features."""

    num_features = NUM_FEATURES
    num_classes = NUM_CLASSES

    def __init__(self, name: str, classifier: DomainClassifier, weights_hash: str):
        super().__init__()
        self.name, self.classifier, self.weights_hash = name, classifier, weights_hash
        self.dataset = EXTRACTOR_DATASETS.get(name)  # whose classes its logits are (None: no dataset's)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Float32 features (N, 128): the classifier's penultimate ReLU layer."""
        return self.classifier.features(self._grey_32px(images)).float()

    def classify(self, images: torch.Tensor) -> torch.Tensor:
        """Logits (N, 10) over the dataset's classes."""
        return self.classifier(self._grey_32px(images)).float()

    def classify_features(self, features: torch.Tensor) -> torch.Tensor:
        """Logits (N, 10) from `forward`'s features, so FID and class coverage share one pass."""
        return self.classifier.head(features).float()

    def _grey_32px(self, images: torch.Tensor) -> torch.Tensor:
        if images.shape[1] not in (1, 3):
            raise ConfigError(f"{self.name} takes 1- or 3-channel images, not {images.shape[1]}", "use a grey or RGB dataset")
        images = images.float().mean(dim=1, keepdim=True)  # RGB -> grey; a no-op for grey images
        if images.shape[-2:] != (RESOLUTION, RESOLUTION):
            # Antialiased like data.resize_images, which made the training images.
            images = F.interpolate(images, size=(RESOLUTION, RESOLUTION), mode="bilinear", antialias=True)
        return images


# ------------------------------------------------------------------------------------------------ weights
def default_weights_path(dataset: str) -> Path:
    """`$LIGHTNING_GANS_CACHE/evaluators/classifier-<dataset>.pt`, the cache defaulting to ~/.cache/lightning_gans."""
    # One file per dataset name, whatever root trained it: the extractor is one fixed evaluator of its domain,
    # applied to any images as Inception is. `load_extractor` refuses another dataset's file, and what is cached
    # from the extractor (real statistics, the bench's reference.json) is keyed by its weights' hash, so weights
    # retrained on another root never meet statistics of the old ones.
    return cache_dir() / "evaluators" / f"classifier-{dataset}.pt"


def prepare_output(path: Path) -> None:
    """Create `path`'s directory; one-line ConfigError unless a file can be written at `path`."""
    if path.is_dir():
        raise ConfigError(f"output {path} is a directory", f"pass a file path such as {path / 'classifier.pt'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"cannot create {path.parent} ({error.strerror})", "pass a writable --output path") from None
    if not os.access(path.parent, os.W_OK):
        raise ConfigError(f"{path.parent} is not writable", "pass a writable --output path")


def save_weights(classifier: DomainClassifier, dataset: str, test_accuracy: float, path: Path) -> None:
    """Write the weights and their metadata via a temporary file and a rename, so no reader sees half a file."""
    payload = {"state_dict": classifier.state_dict(), "dataset": dataset, "test_accuracy": test_accuracy,
               "architecture_version": ARCHITECTURE_VERSION}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # same filesystem, so the rename is atomic
    try:
        torch.save(payload, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_extractor(name: str, weights_path: Optional[str]) -> ClassifierFeatureExtractor:
    """The extractor `name` with the weights at `weights_path` (default: the cache); one-line ConfigError if unusable."""
    dataset = EXTRACTOR_DATASETS[name]
    path = Path(weights_path) if weights_path else default_weights_path(dataset)
    if not path.is_file():
        raise ConfigError(f"{name} weights not found at {path}",
                          f"run `lightning-gans train-evaluator --dataset {dataset}` or pass the weights path")
    raw = path.read_bytes()  # hashed and loaded from the same bytes
    retrain = f"run `lightning-gans train-evaluator --dataset {dataset}` to replace it"
    try:
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
        version, trained_on = payload["architecture_version"], payload["dataset"]
    except Exception as error:  # random bytes, a truncated zip, a foreign pickle or dict all land here
        raise ConfigError(f"{name} weights {path} are corrupt or not a classifier file ({type(error).__name__})",
                          retrain) from None
    if version != ARCHITECTURE_VERSION or trained_on != dataset:
        raise ConfigError(f"{name} weights {path} are for {trained_on} (architecture v{version}), not {dataset} "
                          f"(v{ARCHITECTURE_VERSION})", retrain)
    classifier = DomainClassifier()
    try:
        classifier.load_state_dict(payload["state_dict"])
    except (RuntimeError, KeyError, TypeError) as error:
        raise ConfigError(f"{name} weights {path} do not fit the classifier ({type(error).__name__})", retrain) from None
    return ClassifierFeatureExtractor(name, classifier, weights_hash(raw))


# ----------------------------------------------------------------------------------------------- training
def train_classifier(
    dataset: str, root: Optional[str] = None, epochs: int = DEFAULT_EPOCHS, output: Optional[str] = None, seed: int = 0
) -> tuple[Path, float]:
    """Train on the train split, measure accuracy on the test split, save; returns (weights path, test accuracy)."""
    require(dataset in EXTRACTOR_DATASETS.values(), "--dataset", dataset,
            f"the classifier needs labels: choose one of {', '.join(EXTRACTOR_DATASETS.values())}")
    require(epochs >= 1, "--epochs", epochs, "use an integer >= 1")
    train_images, train_labels = load_images(dataset, root, True, RESOLUTION), load_labels(dataset, root, True)
    test_images, test_labels = load_images(dataset, root, False, RESOLUTION), load_labels(dataset, root, False)
    path = Path(output) if output else default_weights_path(dataset)
    prepare_output(path)  # fail now, not after minutes of training

    with torch.random.fork_rng(devices=[]):  # seeds initialisation and dropout without changing the caller's RNG
        torch.manual_seed(seed)
        classifier = DomainClassifier()
        optimizer = torch.optim.Adam(classifier.parameters(), lr=LEARNING_RATE)
        steps_per_epoch = -(-len(train_images) // BATCH_SIZE)
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, LEARNING_RATE, total_steps=epochs * steps_per_epoch)
        for epoch in range(epochs):
            started = time.perf_counter()
            classifier.train()
            order = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(seed + epoch))
            total_loss = 0.0
            for indices in order.split(BATCH_SIZE):
                loss = F.cross_entropy(classifier(to_float(train_images[indices])), train_labels[indices])
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                schedule.step()
                total_loss += loss.item() * len(indices)
            print(f"epoch {epoch + 1}/{epochs}: train loss {total_loss / len(train_images):.4f} "
                  f"({time.perf_counter() - started:.0f} s)", flush=True)

    test_accuracy = accuracy(classifier, test_images, test_labels)
    save_weights(classifier, dataset, test_accuracy, path)
    return path, test_accuracy


@torch.no_grad()
def accuracy(classifier: DomainClassifier, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of uint8 `images` whose predicted class is their label."""
    classifier.eval()
    correct = sum((classifier(to_float(batch)).argmax(1) == batch_labels).sum().item()
                  for batch, batch_labels in zip(images.split(1000), labels.split(1000)))
    return correct / len(images)
