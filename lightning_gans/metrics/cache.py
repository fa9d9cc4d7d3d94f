"""Where trained evaluators and real statistics are cached, and the hash that keys a cache entry to its weights."""

import hashlib
import os
from pathlib import Path


def cache_dir() -> Path:
    """Where trained evaluators and real statistics are cached: $LIGHTNING_GANS_CACHE, else ~/.cache/lightning_gans."""
    return Path(os.environ.get("LIGHTNING_GANS_CACHE") or Path.home() / ".cache" / "lightning_gans")


def weights_hash(raw: bytes) -> str:
    """First 16 hex digits of the sha256 of a weights file's bytes: part of every cache key computed with it."""
    return hashlib.sha256(raw).hexdigest()[:16]
