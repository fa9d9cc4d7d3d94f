"""FID and KID from features, computed as torchmetrics computes them, over the samples of every process.

The pipeline: `extract_features` -> `fid_features_to_statistics` (the real side, cached) -> `fid_metric` /
`kid_metric` holding both sides -> their `compute`, which sums or gathers what every process holds. Both are fed
features, not images, so one extraction serves FID, KID and class coverage. The FID is computed here, from sums
that add up across processes: torchmetrics' FID takes the real side only as features, which the cached statistics
stand in for. The KID is torchmetrics' own, fed features (its `feature` is an identity).
"""

from dataclasses import dataclass

import torch
from torch import nn
from torchmetrics.image.kid import KernelInceptionDistance

from lightning_gans.processes import all_reduce_sum


def count_label(n: int) -> str:
    """A sample count as metric names carry it: 10000 -> '10k', 2500 -> '2500'."""
    return f"{n // 1000}k" if n % 1000 == 0 else str(n)


class FeatureIdentity(nn.Module):
    """The `feature` of torchmetrics' KID when it is given features instead of images."""

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


def frechet_distance(mean_a: torch.Tensor, cov_a: torch.Tensor, mean_b: torch.Tensor, cov_b: torch.Tensor) -> torch.Tensor:
    """||mean_a - mean_b||^2 + Tr(cov_a + cov_b - 2 (cov_a cov_b)^1/2), the trace of the root taken as the sum of
    the square roots of the eigenvalues of cov_a cov_b (as torchmetrics computes it)."""
    root_trace = torch.linalg.eigvals(cov_a @ cov_b).sqrt().real.sum()
    return (mean_a - mean_b).square().sum() + (cov_a.trace() + cov_b.trace()) - 2 * root_trace


@dataclass
class FeatureSums:
    """Count, sum and sum of outer products (float64) of a feature set: the statistics that add up across
    processes, kept as torchmetrics' FID keeps its states."""

    count: torch.Tensor
    total: torch.Tensor
    outer: torch.Tensor

    @classmethod
    def of_features(cls, features: torch.Tensor) -> "FeatureSums":
        features = features.double()
        return cls(torch.tensor(len(features), device=features.device), features.sum(0), features.T @ features)

    @classmethod
    def of_statistics(cls, statistics: dict[str, torch.Tensor], device) -> "FeatureSums":
        """The sums behind `fid_features_to_statistics`' mean and unbiased covariance."""
        n, mean = statistics["n"].to(device), statistics["mean"].to(device)
        return cls(n, mean * n, statistics["cov"].to(device) * (n - 1) + n * torch.outer(mean, mean))

    @classmethod
    def empty(cls, num_features: int, device) -> "FeatureSums":
        return cls.of_features(torch.empty(0, num_features, device=device))

    def summed_over_processes(self) -> "FeatureSums":
        return FeatureSums(all_reduce_sum(self.count), all_reduce_sum(self.total), all_reduce_sum(self.outer))

    def mean_and_covariance(self) -> tuple[torch.Tensor, torch.Tensor]:
        mean = self.total / self.count
        return mean, (self.outer - self.count * torch.outer(mean, mean)) / (self.count - 1)


@dataclass
class FrechetDistanceOverProcesses:
    """The FID between the real side and the fakes that every process holds part of; `compute` is collective."""

    real: FeatureSums
    fake: FeatureSums

    def compute(self) -> torch.Tensor:
        real, fake = self.real.summed_over_processes(), self.fake.summed_over_processes()
        if real.count < 2 or fake.count < 2:
            raise RuntimeError("the FID needs at least 2 real and 2 generated samples")
        # float32, the dtype torchmetrics' FID returned for float32 features, so values compare with earlier runs'
        return frechet_distance(*real.mean_and_covariance(), *fake.mean_and_covariance()).float()


def fid_metric(real: dict | None, fake: torch.Tensor) -> FrechetDistanceOverProcesses:
    """The FID of `fake` features against the real statistics `real` (`fid_features_to_statistics`), which one
    process holds (None on the others) so that the sum over processes counts them once."""
    device, num_features = fake.device, fake.shape[1]
    real_sums = FeatureSums.of_statistics(real, device) if real is not None else FeatureSums.empty(num_features, device)
    return FrechetDistanceOverProcesses(real_sums, FeatureSums.of_features(fake))


def kid_metric(real_features: torch.Tensor, fake: torch.Tensor, subset_size: int) -> KernelInceptionDistance:
    """torchmetrics' KID holding both feature sets. Every process adds a tensor, possibly empty, to each list
    state: the cross-process gather in `compute` needs all of them."""
    kid = KernelInceptionDistance(feature=FeatureIdentity(fake.shape[1]), subset_size=subset_size).to(fake.device)
    kid.update(fake, real=False)
    kid.update(real_features.to(fake.device), real=True)
    return kid
