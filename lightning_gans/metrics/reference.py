"""The real side of FID and KID: features of a dataset split and their statistics, computed once per protocol and
set of images and cached on disk."""

import os
from functools import cached_property
from pathlib import Path
from typing import Optional

import torch

from lightning_gans.data.sources import load_images, load_labels
from lightning_gans.data.stream import to_float
from lightning_gans.errors import ConfigError
from lightning_gans.metrics.cache import cache_dir, fingerprint
from lightning_gans.metrics.fid import FeatureSums, extract_features, fid_features_to_statistics
from lightning_gans.metrics.progress import counted
from lightning_gans.processes import barrier, rank_and_world_size


class RealStatistics:
    """Real-image features and their FID statistics, cached in `<cache>/fid-stats/`, keyed by dataset, split,
    resolution, extractor, its weights' hash, N and a fingerprint of the images themselves (`images`): two
    folders of other images under one dataset name, or a folder whose files changed, never share an entry.

    With `num_classes` (a conditional run) the statistics also hold the images' labels and, per class, the count,
    sum and sum of outer products of its features (`class_sums`, the real side of the intra-class FID); the cache
    key then carries the number of classes and a fingerprint of the labels."""

    def __init__(self, dataset: str, root: Optional[str], split: str, resolution: int, num_samples: int, seed: int = 0,
                 num_classes: Optional[int] = None):
        self.dataset, self.root, self.split, self.resolution = dataset, root, split, resolution
        self.num_samples, self.seed, self.num_classes = num_samples, seed, num_classes

    @cached_property
    def chosen(self) -> Optional[torch.Tensor]:
        """Indices of the `num_samples` images chosen (seeded by `seed`) from a split that holds more; None: all."""
        total = len(self.all_images)
        if total <= self.num_samples:
            return None
        return torch.randperm(total, generator=torch.Generator().manual_seed(self.seed))[: self.num_samples]

    @cached_property
    def all_images(self) -> torch.Tensor:
        return load_images(self.dataset, self.root, self.split == "train", self.resolution)

    @cached_property
    def images(self) -> torch.Tensor:
        """uint8 (N, C, H, W): the split, or a choice of `num_samples` of it seeded by `seed` when it holds more."""
        return self.all_images if self.chosen is None else self.all_images[self.chosen]

    @cached_property
    def labels(self) -> torch.Tensor:
        """int64 (N,): the labels of `images`."""
        labels = load_labels(self.dataset, self.root, self.split == "train")
        return labels if self.chosen is None else labels[self.chosen]

    def key(self, extractor) -> str:
        """The cache entry's name: readable settings, then the fingerprint of the images (`cache.fingerprint`), and
        for a conditional reference the number of classes and the labels' fingerprint."""
        key = (f"{self.dataset}-{self.split}-{self.resolution}px-{extractor.name}-{extractor.weights_hash}-"
               f"{self.num_samples}-{fingerprint(self.images, self.seed)}")
        return key if self.num_classes is None else f"{key}-{self.num_classes}classes-{fingerprint(self.labels, self.seed)}"

    def path(self, extractor) -> Path:
        return cache_dir() / "fid-stats" / f"{self.key(extractor)}.pt"

    def load_or_compute(self, extractor, batch_size: int, device, progress: bool = False) -> dict[str, torch.Tensor]:
        """The cached statistics, or those computed now (with `progress`, a bar counts the images extracted)."""
        self.require_two_a_class()
        path = self.path(extractor)
        if path.is_file():
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # a corrupt cache file is recomputed and replaced
                pass
        batches = counted(self.images.split(batch_size), len(self.images), "real features", progress)
        features = extract_features(extractor, (to_float(batch) for batch in batches), device)
        statistics = fid_features_to_statistics(features)
        if self.num_classes is not None:
            statistics.update(class_sums(features, self.labels, self.num_classes))
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save(statistics, tmp)
        os.replace(tmp, path)  # atomic: a crash never leaves a truncated cache file
        return statistics

    def require_two_a_class(self) -> None:
        """A ConfigError unless each class has 2 of the chosen real images, the fewest its intra-class FID takes."""
        if self.num_classes is None:
            return
        counts = torch.bincount(self.labels, minlength=self.num_classes)
        if counts.min() < 2:
            k = int(counts.argmin())
            raise ConfigError(f"the {self.num_samples} real images chosen from the {self.split} split hold "
                              f"{int(counts[k])} of class {k}", "the intra-class FID needs 2 a class: raise fid.num_samples",
                              "fid.num_samples", self.num_samples)

    def load_or_compute_once(self, extractor, batch_size: int, device, progress: bool = False) -> dict[str, torch.Tensor]:
        """`load_or_compute` for every process, computed by process 0 alone: the others then read its cache file."""
        first = rank_and_world_size()[0] == 0
        statistics = self.load_or_compute(extractor, batch_size, device, progress) if first else None
        barrier()
        return statistics if first else self.load_or_compute(extractor, batch_size, device)


def class_sums(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict[str, torch.Tensor]:
    """`labels` and, per class k, the count (C,), sum (C, D) and sum of outer products (C, D, D) of the features
    of label k, float64: `fid.FeatureSums` of each class."""
    sums = [FeatureSums.of_features(features[labels == k]) for k in range(num_classes)]
    return {"labels": labels, "class_count": torch.stack([s.count for s in sums]),
            "class_total": torch.stack([s.total for s in sums]), "class_outer": torch.stack([s.outer for s in sums])}


def real_class_sums(statistics: dict[str, torch.Tensor], k: int, device) -> FeatureSums:
    """Class k's `FeatureSums` of a conditional reference's statistics."""
    return FeatureSums(*(statistics[name][k].to(device) for name in ("class_count", "class_total", "class_outer")))
