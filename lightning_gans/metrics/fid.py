"""FID and KID from features, as torchmetrics computes them (and reduces them across processes).

The pipeline: `extract_features` -> `fid_features_to_statistics` (the real side, cached) -> `fid_metric` /
`kid_metric` holding both sides -> their `compute`, which sums the states of every process. The metrics are fed
features, not images (their `feature` is an identity), so one extraction serves FID, KID and class coverage.
"""

import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance


def count_label(n: int) -> str:
    """A sample count as metric names carry it: 10000 -> '10k', 2500 -> '2500'."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


class FeatureIdentity(nn.Module):
    """The `feature` of torchmetrics' FID/KID when they are given features instead of images."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return features


@torch.no_grad()
def extract_features(extractor: nn.Module, batches, device) -> torch.Tensor:
    """Float32 features of every batch, concatenated on the CPU."""
    return torch.cat([extractor(batch.to(device)).float().cpu() for batch in batches])


def fid_features_to_statistics(features: torch.Tensor) -> dict[str, torch.Tensor]:
    """Mean, covariance (float64, unbiased), count and the features themselves (for KID) of a feature set."""
    features = features.double()
    return {"mean": features.mean(0), "cov": torch.cov(features.T), "n": torch.tensor(len(features)),
            "features": features.float()}


def fid_metric(real: dict | None, fake: torch.Tensor) -> FrechetInceptionDistance:
    """torchmetrics' FID holding `fake` features and, when given, the real side's statistics (set as the sums
    torchmetrics keeps, so the real features are not summed again). `compute` reduces across processes."""
    fid = FrechetInceptionDistance(feature=FeatureIdentity(fake.shape[1]), reset_real_features=False).to(fake.device)
    fid.orig_dtype = torch.float32  # torchmetrics sets it in update; a process without samples never updates
    if len(fake):
        fid.update(fake, real=False)
    if real is not None:
        n, mean = real["n"].to(fake.device), real["mean"].to(fake.device)
        fid.real_features_sum = mean * n
        fid.real_features_cov_sum = real["cov"].to(fake.device) * (n - 1) + n * torch.outer(mean, mean)
        fid.real_features_num_samples = n
    return fid


def kid_metric(real_features: torch.Tensor, fake: torch.Tensor, subset_size: int) -> KernelInceptionDistance:
    """torchmetrics' KID holding both feature sets. Every process adds a tensor, possibly empty, to each list
    state: the cross-process gather in `compute` needs all of them."""
    kid = KernelInceptionDistance(feature=FeatureIdentity(fake.shape[1]), subset_size=subset_size).to(fake.device)
    kid.update(fake, real=False)
    kid.update(real_features.to(fake.device), real=True)
    return kid
