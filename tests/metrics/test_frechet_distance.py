"""The FID from summed statistics (`fid.FeatureSums`, `fid.frechet_distance`) against torchmetrics' FID fed the
same features through its public `update`."""

import pytest
import torch
from torchmetrics.image.fid import FrechetInceptionDistance

from lightning_gans.metrics.fid import FeatureIdentity, FeatureSums, fid_features_to_statistics, fid_metric


def features(seed: int, n: int, d: int = 8, shift: float = 0.0) -> torch.Tensor:
    mixing = torch.randn(d, d, generator=torch.Generator().manual_seed(99)) / d**0.5
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed)) @ mixing + shift


@pytest.mark.parametrize("shift", [0.0, 2.0])
def test_the_fid_of_cached_statistics_is_torchmetrics_fid_of_the_features(shift):
    real, fake = features(0, 400), features(1, 300, shift=shift)
    torchmetrics_fid = FrechetInceptionDistance(feature=FeatureIdentity(real.shape[1]))
    torchmetrics_fid.update(real, real=True)
    torchmetrics_fid.update(fake, real=False)
    ours = fid_metric(fid_features_to_statistics(real), fake).compute()
    assert ours.dtype == torch.float32
    assert float(ours) == pytest.approx(float(torchmetrics_fid.compute()), rel=1e-6)


def test_the_sums_behind_cached_statistics_are_those_of_the_features():
    real = features(0, 50)
    from_statistics = FeatureSums.of_statistics(fid_features_to_statistics(real), "cpu")
    from_features = FeatureSums.of_features(real)
    assert int(from_statistics.count) == int(from_features.count) == 50
    torch.testing.assert_close(from_statistics.total, from_features.total)
    torch.testing.assert_close(from_statistics.outer, from_features.outer)


def test_a_process_without_the_real_side_or_samples_adds_nothing():
    empty = FeatureSums.empty(8, "cpu")
    assert int(empty.count) == 0 and not empty.total.any() and not empty.outer.any()
    with pytest.raises(RuntimeError, match="at least 2 real and 2 generated samples"):
        fid_metric(None, features(1, 10)).compute()
