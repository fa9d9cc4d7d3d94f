"""FID/KID pipeline: latent codes by index, FID against a SciPy reference, cached real statistics."""

import numpy as np
import pytest
import scipy.linalg
import torch

from lightning_gans.metrics.fid import (
    fid_features_to_statistics,
    fid_metric,
    kid_metric,
)
from lightning_gans.metrics.sampling import latents_for_indices, rank_share


def test_latents_are_a_function_of_seed_and_index_only():
    whole = latents_for_indices(0, 2500, 8, seed=3)
    parts = [latents_for_indices(*rank_share(2500, rank, 3), 8, seed=3) for rank in range(3)]
    assert [len(p) for p in parts] == [833, 833, 834]
    assert torch.equal(torch.cat(parts), whole)
    assert torch.equal(latents_for_indices(1700, 1703, 8, seed=3), whole[1700:1703])
    assert not torch.equal(latents_for_indices(0, 10, 8, seed=4), whole[:10])
    assert latents_for_indices(5, 5, 8, seed=3).shape == (0, 8)


def scipy_fid(a: np.ndarray, b: np.ndarray) -> float:
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_a @ cov_b).real
    return float(((mu_a - mu_b) ** 2).sum() + np.trace(cov_a + cov_b - 2 * covmean))


def features(seed, n=600, d=16, shift=0.0):
    """Samples of one correlated Gaussian (fixed mixing), shifted by `shift`."""
    mixing = torch.randn(d, d, generator=torch.Generator().manual_seed(99)) / d**0.5
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) @ mixing + shift


def test_fid_of_a_set_against_itself_is_zero():
    a = features(0)
    assert abs(float(fid_metric(fid_features_to_statistics(a), a).compute())) < 1e-6


@pytest.mark.parametrize("shift", [0.0, 0.5, 3.0])
def test_fid_from_cached_statistics_matches_scipy(shift):
    real, fake = features(0), features(1, n=500, shift=shift)
    ours = float(fid_metric(fid_features_to_statistics(real), fake).compute())
    reference = scipy_fid(real.double().numpy(), fake.double().numpy())
    assert ours == pytest.approx(reference, rel=1e-6)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    real = features(0)
    same = kid_metric(real, features(1), subset_size=200)
    shifted = kid_metric(real, features(1, shift=1.0), subset_size=200)
    torch.manual_seed(0)
    same_mean, _ = same.compute()
    torch.manual_seed(0)
    shifted_mean, _ = shifted.compute()
    assert abs(float(same_mean)) < 0.01 < float(shifted_mean)
