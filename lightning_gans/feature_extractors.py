"""Registry of the feature extractors behind FID, KID and class coverage.

An extractor is an nn.Module that takes generator-range images (float NCHW in [-1, 1], 1 or 3 channels, any
resolution) and maps them itself to what its network expects, returning float32 features (N, num_features).
It has `name` (used in metric names such as `fid/inception_10k_train`) and `weights_hash` (a short hash of its
weights, part of the real-statistics cache key). A classifier also has `classify(images) -> logits`.
"""

import hashlib
import os
from pathlib import Path
from typing import Callable, Optional

from torch import nn

from lightning_gans.errors import ConfigError

def cache_dir() -> Path:
    """Where trained evaluators and real statistics are cached: $LIGHTNING_GANS_CACHE, else ~/.cache/lightning_gans."""
    return Path(os.environ.get("LIGHTNING_GANS_CACHE") or Path.home() / ".cache" / "lightning_gans")


def weights_hash(raw: bytes) -> str:
    """First 16 hex digits of the sha256 of a weights file's bytes: part of every cache key computed with it."""
    return hashlib.sha256(raw).hexdigest()[:16]


FEATURE_EXTRACTORS: dict[str, Callable[[Optional[str]], nn.Module]] = {}


def register_feature_extractor(name: str):
    """Decorator: `factory(weights_path: Optional[str]) -> extractor` becomes available under `name`."""

    def register(factory):
        FEATURE_EXTRACTORS[name] = factory
        return factory

    return register


def build_feature_extractor(name: str, weights_path: Optional[str] = None) -> nn.Module:
    """The extractor `name`, in eval mode without gradients; one-line ConfigError when unknown or unavailable."""
    # Importing the modules registers their extractors.
    from lightning_gans import feature_extractor_classifier, feature_extractor_inception  # noqa: F401

    if name not in FEATURE_EXTRACTORS:
        raise ConfigError(f"feature extractor {name!r} is unknown: choose one of {', '.join(sorted(FEATURE_EXTRACTORS))}")
    return FEATURE_EXTRACTORS[name](weights_path).eval().requires_grad_(False)
