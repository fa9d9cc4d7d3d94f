"""The real side of FID and KID: features of a dataset split and their statistics, computed once per protocol and
set of images and cached on disk."""

import os
from functools import cached_property
from pathlib import Path
from typing import Optional

import torch

from lightning_gans.data.sources import load_images
from lightning_gans.data.stream import to_float
from lightning_gans.metrics.cache import cache_dir, fingerprint
from lightning_gans.metrics.fid import extract_features, fid_features_to_statistics
from lightning_gans.metrics.progress import counted
from lightning_gans.processes import barrier, rank_and_world_size


class RealStatistics:
    """Real-image features and their FID statistics, cached in `<cache>/fid-stats/`, keyed by dataset, split,
    resolution, extractor, its weights' hash, N and a fingerprint of the images themselves (`images`): two
    folders of other images under one dataset name, or a folder whose files changed, never share an entry."""

    def __init__(self, dataset: str, root: Optional[str], split: str, resolution: int, num_samples: int, seed: int = 0):
        self.dataset, self.root, self.split, self.resolution = dataset, root, split, resolution
        self.num_samples, self.seed = num_samples, seed

    @cached_property
    def images(self) -> torch.Tensor:
        """uint8 (N, C, H, W): the split, or a choice of `num_samples` of it seeded by `seed` when it holds more."""
        images = load_images(self.dataset, self.root, self.split == "train", self.resolution)
        if len(images) > self.num_samples:
            order = torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))
            images = images[order[: self.num_samples]]
        return images

    def key(self, extractor) -> str:
        """The cache entry's name: readable settings, then the fingerprint of the images (`cache.fingerprint`)."""
        return (f"{self.dataset}-{self.split}-{self.resolution}px-{extractor.name}-{extractor.weights_hash}-"
                f"{self.num_samples}-{fingerprint(self.images, self.seed)}")

    def path(self, extractor) -> Path:
        return cache_dir() / "fid-stats" / f"{self.key(extractor)}.pt"

    def load_or_compute(self, extractor, batch_size: int, device, progress: bool = False) -> dict[str, torch.Tensor]:
        """The cached statistics, or those computed now (with `progress`, a bar counts the images extracted)."""
        path = self.path(extractor)
        if path.is_file():
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # a corrupt cache file is recomputed and replaced
                pass
        batches = counted(self.images.split(batch_size), len(self.images), "real features", progress)
        features = extract_features(extractor, (to_float(batch) for batch in batches), device)
        statistics = fid_features_to_statistics(features)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save(statistics, tmp)
        os.replace(tmp, path)  # atomic: a crash never leaves a truncated cache file
        return statistics

    def load_or_compute_once(self, extractor, batch_size: int, device, progress: bool = False) -> dict[str, torch.Tensor]:
        """`load_or_compute` for every process, computed by process 0 alone: the others then read its cache file."""
        first = rank_and_world_size()[0] == 0
        statistics = self.load_or_compute(extractor, batch_size, device, progress) if first else None
        barrier()
        return statistics if first else self.load_or_compute(extractor, batch_size, device)
