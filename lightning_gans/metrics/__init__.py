"""Evaluation as plain functions: FID and KID (`fid.py`) on the features of a registered extractor, class coverage,
and the toy metrics (`toy.py`), computed by `evaluation.py` from a sample function, equal on 1 and N processes.

An extractor is an nn.Module that takes generator-range images (float NCHW in [-1, 1], 1 or 3 channels, any
resolution) and maps them itself to what its network expects, returning float32 features (N, num_features).
It has `name` (used in metric names such as `fid/inception_10k_train`) and `weights_hash` (a short hash of its
weights, part of the real-statistics cache key). A classifier also has `num_classes` and `classify_features`.
`FEATURE_EXTRACTORS` is their registry: a new extractor is one file with a factory and one line here.
"""

from functools import partial
from typing import Callable, Optional

from torch import nn

from lightning_gans.errors import ConfigError
from lightning_gans.metrics.extractor_classifier import load_extractor
from lightning_gans.metrics.extractor_inception import build_inception

# name -> factory(weights_path or None for the default place) -> extractor
FEATURE_EXTRACTORS: dict[str, Callable[[Optional[str]], nn.Module]] = {
    "inception": build_inception,
    "lenet-fmnist": partial(load_extractor, "lenet-fmnist"),
    "lenet-mnist": partial(load_extractor, "lenet-mnist"),
}


def build_feature_extractor(name: str, weights_path: Optional[str] = None) -> nn.Module:
    """The extractor `name`, in eval mode without gradients; one-line ConfigError when unknown or unavailable."""
    if name not in FEATURE_EXTRACTORS:
        raise ConfigError(f"feature extractor {name!r} is unknown",
                          f"choose one of {', '.join(sorted(FEATURE_EXTRACTORS))}", "fid.extractor", name)
    return FEATURE_EXTRACTORS[name](weights_path).eval().requires_grad_(False)
