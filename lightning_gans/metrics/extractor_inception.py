"""The standard FID network: torch-fidelity's TensorFlow-compatible InceptionV3, its 2048-d pool features.

Weights come from, in this order: the explicit path (`fid.feature_extractor_weights_path`), the environment
variable LIGHTNING_GANS_INCEPTION_WEIGHTS, the torch hub cache file torch-fidelity downloads to, and else a
download into that same file. `check_inception_available` does the resolving (and download) without building the
network, so a run without weights fails before training starts instead of at the first FID evaluation.
"""

import io
import os
from pathlib import Path
from typing import Optional
from urllib.parse import urlparse

import torch
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from lightning_gans.errors import ConfigError
from lightning_gans.metrics.cache import weights_hash

WEIGHTS_ENV_VAR = "LIGHTNING_GANS_INCEPTION_WEIGHTS"
WEIGHTS_FILE_NAME = os.path.basename(urlparse(URL_INCEPTION_V3).path)
WEIGHTS_SHA256_PREFIX = Path(WEIGHTS_FILE_NAME).stem.rsplit("-", 1)[1]  # torch hub's convention: name-<sha256[:8]>.pth
NUM_FEATURES = 2048
HOW_TO_PROVIDE = (f"download {URL_INCEPTION_V3} and pass fid.feature_extractor_weights_path=FILE "
                  f"or set {WEIGHTS_ENV_VAR}=FILE")


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Generator-range floats in [-1, 1] -> uint8 in [0, 255], the input torch-fidelity's Inception expects.

    Clamped after rounding, so values slightly outside [-1, 1] saturate instead of wrapping around; exact .5 values
    round half to even (0.0 -> 127.5 -> 128).
    """
    return ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)


# ------------------------------------------------------------------------------------------------ weights
def hub_cache_path() -> Path:
    """The file torch-fidelity's own download writes: `<torch hub dir>/checkpoints/<file name of its URL>`."""
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILE_NAME


def resolve_inception_weights(weights_path: Optional[str]) -> Optional[str]:
    """The local weights file to use, or None when none exists and a download is needed; never builds the network."""
    if weights_path:
        if not Path(weights_path).is_file():
            raise ConfigError(f"fid.feature_extractor_weights_path={weights_path!r} is not a file", HOW_TO_PROVIDE)
        return weights_path
    from_env = os.environ.get(WEIGHTS_ENV_VAR)
    if from_env:
        if not Path(from_env).is_file():
            raise ConfigError(f"{WEIGHTS_ENV_VAR}={from_env!r} is not a file", HOW_TO_PROVIDE)
        return from_env
    cached = hub_cache_path()
    return str(cached) if cached.is_file() else None


def download_inception_weights() -> str:
    """Download the weights to torch-fidelity's hub cache file, checking the sha256 prefix in their file name."""
    path = hub_cache_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # The download goes through a temporary file and a rename, so a failed one leaves no half file behind.
    torch.hub.download_url_to_file(URL_INCEPTION_V3, str(path), hash_prefix=WEIGHTS_SHA256_PREFIX)
    return str(path)


def check_inception_available(weights_path: Optional[str]) -> str:
    """The weights file, downloaded first if no local one exists; one-line ConfigError when that fails."""
    resolved = resolve_inception_weights(weights_path)
    if resolved:
        return resolved
    try:
        return download_inception_weights()
    except Exception as error:  # offline, proxy, HTTP, hash mismatch, unwritable cache: all the same fix
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        raise ConfigError(f"inception weights not found and could not be downloaded ({reason})", HOW_TO_PROVIDE) from None


# ------------------------------------------------------------------------------------------------ extractor
class InceptionFeatureExtractor(nn.Module):
    """Generator-range images (float NCHW in [-1, 1], 1 or 3 channels, any size) -> Inception pool features."""

    name = "inception"
    num_features = NUM_FEATURES

    def __init__(self, inception: FeatureExtractorInceptionV3, weights_hash: str):
        super().__init__()
        self.inception, self.weights_hash = inception, weights_hash

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Float32 features (N, 2048); torch-fidelity resizes to 299 px itself, like TensorFlow's FID code."""
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        elif images.shape[1] != 3:
            raise ConfigError(f"inception takes 1- or 3-channel images, not {images.shape[1]}", "use a grey or RGB dataset")
        (features,) = self.inception(to_uint8(images))
        return features.float()

    def logits_from_features(self, features: torch.Tensor) -> torch.Tensor:
        """The Inception Score's input, torch-fidelity's `logits_unbiased` (its fc layer without the bias), from the
        pool features: no second pass over the images."""
        return features @ self.inception.fc.weight.T


def load_inception(weights_path: str) -> InceptionFeatureExtractor:
    """The extractor with the weights at `weights_path`; one-line ConfigError when the file is unusable."""
    raw = Path(weights_path).read_bytes()  # hashed and checked from the same bytes
    unusable = f"inception weights {weights_path} are corrupt or not torch-fidelity's InceptionV3"
    try:
        # torch-fidelity loads with weights_only=False, which runs any code in a pickle: a file that passes this
        # safe load holds only tensors, so its load is safe too.
        torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as error:  # random bytes, a truncated zip, a pickle with code all land here
        raise ConfigError(f"{unusable} ({type(error).__name__})", HOW_TO_PROVIDE) from None
    try:
        inception = FeatureExtractorInceptionV3(
            name="inception-v3-compat", features_list=["2048"], feature_extractor_weights_path=weights_path
        )
    except (RuntimeError, TypeError, AttributeError) as error:  # missing keys, wrong shapes, not a state dict
        raise ConfigError(f"{unusable} ({type(error).__name__})", HOW_TO_PROVIDE) from None
    return InceptionFeatureExtractor(inception, weights_hash(raw))


def build_inception(weights_path: Optional[str]) -> InceptionFeatureExtractor:
    """The extractor with resolved (or downloaded) weights; the `inception` entry of `metrics.FEATURE_EXTRACTORS`."""
    return load_inception(check_inception_available(weights_path))
