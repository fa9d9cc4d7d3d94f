"""Evaluation of conditional generators: labels per sample index (stratified, independent of the number of
processes), the intra-class FID and the class accuracy against closed-form references, equal on 1 and 2 gloo
processes, the conditional real statistics, and `toy/class_accuracy`."""

from functools import partial
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from conditional_doubles import SIDE, FirstPixelClassifier, conditional_images
from conftest import ChannelMoments, one_line_config_error, write_fashion_mnist

from lightning_gans.data.sources import load_labels
from lightning_gans.metrics.evaluation import held_out_metrics, image_metrics, toy_metrics
from lightning_gans.metrics.fid import fid_features_to_statistics, fid_metric
from lightning_gans.metrics.protocol import FIDProtocol
from lightning_gans.metrics.reference import RealStatistics, class_sums
from lightning_gans.metrics.sampling import class_grid_inputs, labels_for_indices, latents_for_indices, rank_share
from lightning_gans.metrics.toy import class_accuracy_from_counts, high_quality_counts, own_mode_counts

CLASSES, N, LATENT = 4, 120, 8
IFID, ACCURACY = "ifid/pixels_120_train", "classes/accuracy_pixels_120"


def test_balanced_labels_give_each_class_an_equal_block_and_skewed_ones_their_exact_proportions():
    assert labels_for_indices(0, 12, 12, torch.full((4,), 0.25)).tolist() == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]
    skewed = labels_for_indices(0, 10, 10, torch.tensor([0.5, 0.3, 0.2]))
    assert torch.bincount(skewed).tolist() == [5, 3, 2] and skewed.dtype == torch.int64


def test_labels_of_a_share_are_those_of_the_whole_at_its_indices():
    distribution = torch.tensor([0.1, 0.6, 0.3])
    whole = labels_for_indices(0, 101, 101, distribution)
    shares = [labels_for_indices(*rank_share(101, rank, 3), 101, distribution) for rank in range(3)]
    assert torch.equal(torch.cat(shares), whole)


def test_a_class_grid_has_one_class_per_row_and_the_same_z_down_each_column():
    z, labels = class_grid_inputs([2, 0], per_class=3, latent_dim=LATENT, seed=1)
    assert labels.tolist() == [2, 2, 2, 0, 0, 0]
    assert torch.equal(z[:3], latents_for_indices(0, 3, LATENT, 1)) and torch.equal(z[3:], z[:3])


def real_side(seed: int = 1) -> tuple[dict, torch.Tensor, torch.Tensor]:
    """Statistics of N real features with labels (a conditional reference), the features and the labels."""
    labels = torch.randint(0, CLASSES, (N,), generator=torch.Generator().manual_seed(seed))
    z = torch.randn(N, LATENT, generator=torch.Generator().manual_seed(seed + 1))
    features = conditional_images(z, labels).flatten(1)
    return {**fid_features_to_statistics(features), **class_sums(features, labels, CLASSES)}, features, labels


def conditional_metrics(miss: bool, dataset: str = FirstPixelClassifier.dataset) -> dict[str, float]:
    sample = partial(lambda z, labels, miss: conditional_images(z, labels, miss), miss=miss)
    return image_metrics(sample, FirstPixelClassifier(CLASSES), real_side()[0], "train", N, LATENT, seed=3,
                         batch_size=32, label_distribution=torch.full((CLASSES,), 1 / CLASSES), dataset=dataset)


def test_intra_class_fid_is_the_mean_of_each_classs_fid_against_that_classs_real_images():
    _, real_features, real_labels = real_side()
    z = latents_for_indices(0, N, LATENT, 3)
    labels = labels_for_indices(0, N, N, torch.full((CLASSES,), 1 / CLASSES))
    fake = conditional_images(z, labels).flatten(1)
    expected = torch.stack([fid_metric(fid_features_to_statistics(real_features[real_labels == k]),
                                       fake[labels == k]).compute() for k in range(CLASSES)]).mean()
    assert conditional_metrics(miss=False)[IFID] == pytest.approx(float(expected), rel=1e-5)


def test_class_accuracy_is_the_share_of_samples_the_classifier_puts_in_their_own_class():
    assert conditional_metrics(miss=False)[ACCURACY] == 1.0
    # a miss draws class k at k + 1, which the classifier reads as k + 1, except for the last class (nearest: itself)
    labels = labels_for_indices(0, N, N, torch.full((CLASSES,), 1 / CLASSES))
    hit = ((latents_for_indices(0, N, LATENT, 3)[:, 0] >= 0) | (labels == CLASSES - 1)).double().mean()
    assert conditional_metrics(miss=True)[ACCURACY] == pytest.approx(float(hit), abs=1e-12)


def test_a_classifier_of_another_dataset_gives_no_class_accuracy_but_the_intra_class_fid_stays():
    """Its classes are not the labels' (lenet-fmnist on class folders): its accuracy would mean nothing."""
    metrics = conditional_metrics(miss=False, dataset="image_folder")
    assert ACCURACY not in metrics and metrics[IFID] == conditional_metrics(miss=False)[IFID]


def mislabelled() -> torch.Tensor:
    """The real side's labels, the first quarter of them replaced by the next class."""
    labels = real_side()[2]
    return torch.where(torch.arange(N) < N // 4, (labels + 1) % CLASSES, labels)


def held_out_class_metrics() -> dict[str, float]:
    """The real side's own images as held-out images with the `mislabelled` labels."""
    real, features, _ = real_side()
    return held_out_metrics(features.reshape(-1, 1, SIDE, SIDE), FirstPixelClassifier(CLASSES), real, "train",
                            batch_size=32, labels=mislabelled(), dataset=FirstPixelClassifier.dataset)


def test_held_out_real_images_get_the_class_metrics_of_their_labels():
    """The bench's real-data row of a conditional bench: real images in place of fakes, their labels in place of the
    sampled ones."""
    real, features, labels = real_side()
    metrics = held_out_metrics(features.reshape(-1, 1, SIDE, SIDE), FirstPixelClassifier(CLASSES), real, "train",
                               batch_size=32, labels=labels, dataset=FirstPixelClassifier.dataset)
    assert metrics[IFID] == pytest.approx(0, abs=1e-3) and metrics[ACCURACY] == 1.0  # each class is its own reference
    expected = torch.stack([fid_metric(fid_features_to_statistics(features[labels == k]),
                                       features[mislabelled() == k]).compute() for k in range(CLASSES)]).mean()
    assert held_out_class_metrics()[ACCURACY] == 0.75
    assert held_out_class_metrics()[IFID] == pytest.approx(float(expected), rel=1e-5) and expected > 0.01


def test_an_unconditional_generator_gets_no_class_metrics():
    metrics = image_metrics(lambda z: conditional_images(z, torch.zeros(len(z), dtype=torch.int64)),
                            FirstPixelClassifier(CLASSES), real_side()[0], "train", N, LATENT)
    assert IFID not in metrics and ACCURACY not in metrics


def test_a_reference_without_labels_is_one_line():
    real = fid_features_to_statistics(real_side()[1])
    message = one_line_config_error(lambda: image_metrics(
        conditional_images, FirstPixelClassifier(CLASSES), real, "train", N, LATENT,
        label_distribution=torch.full((CLASSES,), 1 / CLASSES)))
    assert "hold no labels" in message


def one_of_two_processes(rank: int, directory: Path) -> None:
    """Rank `rank` of a gloo group of 2: saves its conditional metrics to `directory/rank<rank>.pt`."""
    dist.init_process_group("gloo", init_method=f"file://{directory / 'rendezvous'}", rank=rank, world_size=2)
    try:
        torch.save({"miss": conditional_metrics(miss=True), "hit": conditional_metrics(miss=False),
                    "held_out": held_out_class_metrics()}, directory / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_intra_class_fid_and_class_accuracy_are_equal_on_one_and_two_processes(tmp_path):
    mp.spawn(one_of_two_processes, args=(tmp_path,), nprocs=2)
    for case, single in (("miss", conditional_metrics(True)), ("hit", conditional_metrics(False)),
                         ("held_out", held_out_class_metrics())):
        for rank in range(2):
            both = torch.load(tmp_path / f"rank{rank}.pt")[case]
            assert both[ACCURACY] == single[ACCURACY]
            assert both[IFID] == pytest.approx(single[IFID], rel=1e-6)
            assert both.keys() == single.keys()


def test_a_conditional_reference_holds_its_images_labels_and_per_class_sums_under_its_own_cache_key(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))
    root = write_fashion_mnist(tmp_path / "fmnist", n_train=80)
    extractor = ChannelMoments(channels=1)
    plain = RealStatistics("fashion_mnist", str(root), "train", 32, 50, seed=2)
    conditional = RealStatistics("fashion_mnist", str(root), "train", 32, 50, seed=2, num_classes=10)
    statistics = conditional.load_or_compute(extractor, 16, "cpu")
    chosen = torch.randperm(80, generator=torch.Generator().manual_seed(2))[:50]
    assert torch.equal(statistics["labels"], load_labels("fashion_mnist", str(root), True)[chosen])
    assert torch.equal(statistics["class_count"], torch.bincount(statistics["labels"], minlength=10))
    features = statistics["features"].double()
    assert torch.allclose(statistics["class_total"][3], features[statistics["labels"] == 3].sum(0))
    assert plain.key(extractor) != conditional.key(extractor) and "10classes" in conditional.key(extractor)
    assert "class_count" not in plain.load_or_compute(extractor, 16, "cpu")


def test_a_protocol_with_fewer_than_two_samples_per_class_is_refused():
    class Data:
        dataset, root, resolution = "fashion_mnist", None, 32

    message = one_line_config_error(lambda: FIDProtocol(num_samples=15).reference(Data(), num_classes=10))
    assert message.startswith("fid.num_samples=15 is invalid") and "at least 20" in message


MODES = torch.tensor([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])


def test_toy_class_accuracy_counts_high_quality_samples_in_their_own_labels_mode():
    # labels 0, 1, 2, 1: the first two land in their own mode, the third in mode 1, the fourth far from any mode
    samples = torch.tensor([[0.01, 0.0], [1.0, 0.02], [1.0, 0.0], [5.0, 5.0]])
    labels = torch.tensor([0, 1, 2, 1])
    own, counts = own_mode_counts(samples, labels, MODES, 0.05), high_quality_counts(samples, MODES, 0.05)
    assert own.tolist() == [1, 1, 0] and counts.tolist() == [1, 2, 0]
    assert class_accuracy_from_counts(own, counts) == pytest.approx(2 / 3)
    assert class_accuracy_from_counts(torch.zeros(3), torch.zeros(3)) == 0.0


def test_toy_metrics_of_a_conditional_generator_that_draws_label_k_at_mode_k_have_class_accuracy_one():
    def sample(z, labels=None):  # label k at mode k, except samples whose z[:, 0] < 0, drawn at the next mode
        return MODES[(labels + (z[:, 0] < 0).long()) % 3] + 0.001 * z[:, :2]

    metrics = toy_metrics(sample, MODES, 0.05, MODES.repeat(100, 1), 300, LATENT, seed=4,
                          label_distribution=torch.ones(3) / 3)
    hit = (latents_for_indices(0, 300, LATENT, 4)[:, 0] >= 0).float().mean()
    assert metrics["toy/high_quality"] == 1.0 and metrics["toy/class_accuracy"] == pytest.approx(float(hit))
    assert "toy/class_accuracy" not in toy_metrics(lambda z: MODES[z[:, 0].gt(0).long()], MODES, 0.05, MODES, 30, LATENT)
