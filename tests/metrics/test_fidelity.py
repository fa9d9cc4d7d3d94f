"""Precision and recall (k = 3) on feature sets with known answers, parity with torch-fidelity's unbatched
function, the Inception Score on logits with known answers, and `held_out_metrics` of the reference images themselves."""

import pytest
import torch
from torch import nn
from torch_fidelity.metric_prc import calculate_precision_recall_full

from lightning_gans.data.stream import to_float
from lightning_gans.metrics.evaluation import held_out_metrics
from lightning_gans.metrics.fid import fid_features_to_statistics
from lightning_gans.metrics.fidelity import inception_score, precision_recall
from lightning_gans.processes import all_gather_rows


def clusters(centres: list[int], per_cluster=40, seed=0) -> torch.Tensor:
    """Tight Gaussian clusters (std 0.1) in 8-d, centred 100 apart along the first axis."""
    points = torch.randn(len(centres) * per_cluster, 8, generator=torch.Generator().manual_seed(seed)) * 0.1
    points[:, 0] += 100 * torch.tensor(centres).repeat_interleave(per_cluster)
    return points


def test_identical_sets_have_precision_and_recall_one():
    real = clusters([0, 1, 2])
    assert precision_recall(real.clone(), real) == (1.0, 1.0)


def test_far_apart_sets_have_precision_and_recall_zero():
    assert precision_recall(clusters([5, 6]), clusters([0, 1, 2])) == (0.0, 0.0)


def test_fakes_on_half_of_the_real_clusters_have_full_precision_and_half_recall():
    real = clusters([0, 1, 2, 3])
    fake = real[: len(real) // 2]  # exactly the real points of clusters 0 and 1
    assert precision_recall(fake, real) == (1.0, 0.5)


def test_matches_torch_fidelity_unbatched_function_on_random_features():
    generator = torch.Generator().manual_seed(0)
    fake, real = torch.randn(300, 16, generator=generator) + 0.3, torch.randn(250, 16, generator=generator)
    ours = precision_recall(fake, real)
    assert ours == calculate_precision_recall_full(fake, real, neighborhood=3)
    assert ours[0] != ours[1]  # the two sides are not interchangeable, so the order of the arguments is checked


def test_inception_score_is_one_for_one_prediction_and_the_class_count_for_confident_balanced_ones():
    assert inception_score(torch.zeros(100, 1008), seed=0) == (1.0, 0.0)
    confident = 50 * torch.eye(5).repeat(2000, 1)  # 10,000 samples, one confident class each, 5 classes equally
    mean, spread = inception_score(confident, seed=0)
    assert mean == pytest.approx(5, rel=0.01) and spread < 0.05  # splits of 1,000 shuffled samples: nearly balanced


def test_gathering_rows_on_one_process_is_the_identity():
    rows = torch.randn(5, 3)
    assert all_gather_rows(rows) is rows


class Pixels(nn.Module):
    """An extractor whose features are the pixels."""

    name, num_features = "pixels", 16

    def forward(self, images):
        return images.flatten(1)


def test_held_out_metrics_of_the_reference_images_are_the_floor():
    images = torch.randint(0, 256, (40, 1, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    real = fid_features_to_statistics(to_float(images).flatten(1))
    metrics = held_out_metrics(images, Pixels(), real, "test", batch_size=16, kid_subset_size=20)
    assert set(metrics) == {f"{m}/pixels_40_test" for m in ("fid", "kid", "kid_std", "precision", "recall")}
    assert abs(metrics["fid/pixels_40_test"]) < 1e-6
    assert metrics["precision/pixels_40_test"] == metrics["recall/pixels_40_test"] == 1.0
