"""Where trained evaluators and real statistics are cached, and the hashes that key a cache entry to its weights and
to its images."""

import hashlib
import os
from pathlib import Path

import torch


def cache_dir() -> Path:
    """Where trained evaluators and real statistics are cached: $LIGHTNING_GANS_CACHE, else ~/.cache/lightning_gans."""
    return Path(os.environ.get("LIGHTNING_GANS_CACHE") or Path.home() / ".cache" / "lightning_gans")


def weights_hash(raw: bytes) -> str:
    """First 16 hex digits of the sha256 of a weights file's bytes: part of every cache key computed with it."""
    return hashlib.sha256(raw).hexdigest()[:16]


def fingerprint(images: torch.Tensor, seed: int) -> str:
    """16 hex digits of the blake2b of `images` (their dtype, shape and bytes) and of the `seed` that chose them:
    part of every cache key computed from them, so other images (another folder, a changed file) get another key."""
    digest = hashlib.blake2b(f"{images.dtype} {tuple(images.shape)} seed {seed}".encode(), digest_size=8)
    digest.update(images.cpu().contiguous().numpy())
    return digest.hexdigest()
