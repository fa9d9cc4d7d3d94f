"""FID and KID of the EMA generator, correct on one process and on N (DDP), with real statistics cached on disk.

The pipeline: `latents_for_indices` (z depends on the seed and the sample index only) -> generator -> a
registered feature extractor (`feature_extractors.py`) -> torchmetrics' FID and KID states, which torchmetrics
reduces across processes when every rank calls `compute`. The metrics are fed features, not images (their
`feature` is an identity), so one extraction serves FID, KID and class coverage.

Metric names carry the protocol: `fid/<extractor>_<N>_<split>`, e.g. `fid/lenet-fmnist_10k_test`.
"""

import os
from pathlib import Path
from typing import Optional

from pytorch_lightning.trainer.states import TrainerFn
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

from lightning_gans.data import ImageDataModule, load_images, to_float
from lightning_gans.errors import ConfigError, require
from lightning_gans.feature_extractors import build_feature_extractor, cache_dir
from lightning_gans.sampling import latents_for_indices, rank_share
from lightning_gans.schedule import EveryNGeneratorSteps

def count_label(n: int) -> str:
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


class FeatureIdentity(nn.Module):
    """The `feature` of torchmetrics' FID/KID when they are given features instead of images."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


def fid_features_to_statistics(features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean, covariance (float64, unbiased) and count of a feature set."""
    features = features.double()
    return {"mean": features.mean(0), "cov": torch.cov(features.T), "n": torch.tensor(len(features)),
            "features": features.float()}


def fid_metric(real: Optional[dict], fake: torch.Tensor) -> FrechetInceptionDistance:
    """torchmetrics' FID holding `fake` features and, when given, the real side's cached statistics (set as the
    sums torchmetrics keeps, so the real features are not summed again). `compute` reduces across ranks."""
    fid = FrechetInceptionDistance(feature=FeatureIdentity(fake.shape[1]), reset_real_features=False).to(fake.device)
    fid.orig_dtype = torch.float32  # torchmetrics sets it in update; a rank without samples never updates
    if len(fake):
        fid.update(fake, real=False)
    if real is not None:
        n, mean = real["n"].to(fake.device), real["mean"].to(fake.device)
        fid.real_features_sum = mean * n
        fid.real_features_cov_sum = real["cov"].to(fake.device) * (n - 1) + n * torch.outer(mean, mean)
        fid.real_features_num_samples = n
    return fid


def kid_metric(real_features: torch.Tensor, fake: torch.Tensor, subset_size: int) -> KernelInceptionDistance:
    """torchmetrics' KID holding both feature sets. Every rank adds a tensor, possibly empty, to each list
    state: the cross-rank gather in `compute` needs all ranks."""
    kid = KernelInceptionDistance(feature=FeatureIdentity(fake.shape[1]), subset_size=subset_size).to(fake.device)
    kid.update(fake, real=False)
    kid.update(real_features.to(fake.device), real=True)
    return kid


class RealStatistics:
    """Real-image features and their FID statistics, computed once per protocol and cached in
    `<cache>/fid-stats/`, keyed by dataset, split, resolution, extractor, its weights' hash and N."""

    def __init__(self, dataset: str, root: Optional[str], split: str, resolution: int, num_samples: int, seed: int = 0):
        self.dataset, self.root, self.split, self.resolution = dataset, root, split, resolution
        self.num_samples, self.seed = num_samples, seed

    def path(self, extractor) -> Path:
        key = f"{self.dataset}-{self.split}-{self.resolution}px-{extractor.name}-{extractor.weights_hash}-{self.num_samples}"
        return cache_dir() / "fid-stats" / f"{key}.pt"

    def load_or_compute(self, extractor, batch_size: int, device) -> dict[str, torch.Tensor]:
        path = self.path(extractor)
        if path.is_file():
            try:
                return torch.load(path, map_location="cpu", weights_only=True)
            except Exception:  # a corrupt cache file is recomputed and replaced
                pass
        images = load_images(self.dataset, self.root, self.split == "train", self.resolution)
        if len(images) > self.num_samples:  # a seeded choice, part of the cache key through N
            images = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(self.seed))[: self.num_samples]]
        features = extract_features(extractor, (to_float(batch) for batch in images.split(batch_size)), device)
        statistics = fid_features_to_statistics(features)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        torch.save(statistics, tmp)
        os.replace(tmp, path)  # atomic: a crash never leaves a truncated cache file
        return statistics


@torch.no_grad()
def extract_features(extractor, batches, device) -> torch.Tensor:
    return torch.cat([extractor(batch.to(device)).float().cpu() for batch in batches])


class FIDCallback(EveryNGeneratorSteps):
    """FID and KID (and class coverage when the extractor is a classifier) every `every_n_g_steps` generator
    steps and at the end of training, from the EMA generator. Under DDP every rank generates its share of the
    `num_samples` fakes, updates its metric states, and calls compute; rank 0's loggers write the result.

    Args:
        extractor: a name from `feature_extractors.FEATURE_EXTRACTORS` (inception, lenet-fmnist, ...); null
            turns the evaluation off.
        num_samples: fakes per evaluation (10k by default; 50k for paper-comparable numbers); the real side
            uses as many images of `reference_split` (all of it when it is smaller).
        reference_split: train or test.
        feature_extractor_weights_path: local weights file of the extractor (also LIGHTNING_GANS_INCEPTION_WEIGHTS
            for inception).
        seed: seeds the latent codes (sample i has the same z on any number of ranks) and KID's subsets.
    """

    config_key = "fid.every_n_g_steps"

    def __init__(
        self,
        extractor: Optional[str] = None,
        num_samples: int = 10_000,
        reference_split: str = "train",
        every_n_g_steps: int = 5000,
        batch_size: int = 250,
        feature_extractor_weights_path: Optional[str] = None,
        kid_subset_size: int = 1000,
        seed: int = 0,
    ):
        require(num_samples >= 2, "fid.num_samples", num_samples, "use an integer >= 2 (10000 is the usual)")
        require(reference_split in ("train", "test"), "fid.reference_split", reference_split, "choose train or test")
        require(batch_size >= 1, "fid.batch_size", batch_size, "use an integer >= 1")
        self.extractor_name, self.num_samples, self.reference_split = extractor, num_samples, reference_split
        super().__init__(every_n_g_steps)
        self.batch_size, self.seed = batch_size, seed
        self.kid_subset_size = kid_subset_size
        # Built now, so missing weights fail before any data loads or step runs; a callback's attributes are
        # not part of the LightningModule's checkpoint.
        self.extractor = build_feature_extractor(extractor, feature_extractor_weights_path) if extractor else None
        self.real: Optional[dict] = None  # statistics and features of the real images, set up by `setup`
        self.results: dict[str, float] = {}

    @property
    def protocol(self) -> str:
        return f"{self.extractor.name}_{count_label(self.num_samples)}_{self.reference_split}"

    def setup(self, trainer, pl_module, stage):
        if self.extractor is None:
            return
        datamodule = trainer.datamodule
        if not isinstance(datamodule, ImageDataModule):
            raise ConfigError("fid.extractor needs image data: set fid.extractor=null for toy data (toy metrics apply)")
        self.reference = RealStatistics(datamodule.dataset, datamodule.root, self.reference_split,
                                        datamodule.resolution, self.num_samples)
        self.extractor.to(pl_module.device)
        # Rank 0 computes and caches the real statistics; the other ranks then read the cache.
        if trainer.is_global_zero:
            self.real = self.reference.load_or_compute(self.extractor, self.batch_size, pl_module.device)
        trainer.strategy.barrier("lightning_gans_fid_real_statistics")
        if not trainer.is_global_zero:
            self.real = self.reference.load_or_compute(self.extractor, self.batch_size, pl_module.device)

    def on_schedule(self, trainer, pl_module):
        if self.extractor is not None:
            self.write(trainer, pl_module, self.evaluate(trainer, pl_module))

    def on_validation_epoch_end(self, trainer, pl_module):
        # `lightning-gans evaluate` runs a validation pass whose only work is this evaluation; during fit the
        # schedule is in generator steps instead.
        if self.extractor is not None and trainer.state.fn == TrainerFn.VALIDATING:
            self.results = self.evaluate(trainer, pl_module)

    def write(self, trainer, pl_module, metrics):
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=pl_module.g_step)

    @torch.no_grad()
    def generate_and_extract(self, trainer, pl_module) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """This rank's share of the fakes as features, and the class counts when the extractor classifies."""
        start, stop = rank_share(self.num_samples, trainer.global_rank, trainer.world_size)
        z = latents_for_indices(start, stop, pl_module.hparams.latent_dim, self.seed)
        classifies = hasattr(self.extractor, "classify_features")
        features, counts = [], torch.zeros(getattr(self.extractor, "num_classes", 0), device=pl_module.device)
        for batch in z.split(self.batch_size):
            features.append(self.extractor(pl_module.sample(batch)).float())
            if classifies:
                logits = self.extractor.classify_features(features[-1])
                counts += torch.bincount(logits.argmax(1), minlength=len(counts)).float()
        fake = torch.cat(features) if features else torch.empty(0, self.extractor.num_features, device=pl_module.device)
        return fake, counts if classifies else None

    def evaluate(self, trainer, pl_module) -> dict[str, float]:
        """Every rank must call this. Returns the metrics (the same on every rank)."""
        fake, class_counts = self.generate_and_extract(trainer, pl_module)
        # Rank 0 alone holds the real side in the metric states, so the cross-rank sum counts it once.
        real = self.real if trainer.is_global_zero else None
        fid = fid_metric(real, fake)
        kid = kid_metric(real["features"] if real is not None else fake[:0], fake,
                         subset_size=min(self.kid_subset_size, self.num_samples, int(self.real["n"])))
        fid_value = fid.compute()
        with torch.random.fork_rng(devices=[]):  # KID's subsets: seeded, and training's RNG stream is untouched
            torch.manual_seed(self.seed)
            kid_mean, kid_std = kid.compute()
        metrics = {f"fid/{self.protocol}": float(fid_value), f"kid/{self.protocol}": float(kid_mean),
                   f"kid_std/{self.protocol}": float(kid_std)}
        if class_counts is not None:
            metrics.update(self.class_coverage(trainer.strategy.reduce(class_counts, reduce_op="sum")))
        return metrics

    def class_coverage(self, counts: torch.Tensor) -> dict[str, float]:
        """Classes generated and KL(class histogram || uniform) of the extractor's predictions on the fakes."""
        histogram = counts / counts.sum()
        present = histogram > 0
        kl = (histogram[present] * (histogram[present] * len(counts)).log()).sum()
        label = f"{self.extractor.name}_{count_label(self.num_samples)}"
        return {f"classes/covered_{label}": float(present.sum()), f"classes/kl_uniform_{label}": float(kl)}
