"""The domain classifier on the real Fashion-MNIST (Debian's dataset-fashion-mnist, which `make setup` installs):
accuracy, and a Frechet distance that separates real test images from untrained-generator samples."""

import pytest
import torch

from lightning_gans import SNGAN
from lightning_gans.data import load_images, to_float
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.fid import extract_features, fid_features_to_statistics, fid_metric


@pytest.fixture(scope="module")
def classifier_weights(tmp_path_factory):
    from lightning_gans.metrics.extractor_classifier import train_classifier

    path, accuracy = train_classifier("fashion_mnist", epochs=1, output=str(tmp_path_factory.mktemp("w") / "c.pt"))
    return path, accuracy


def test_classifier_reaches_88_percent_test_accuracy_in_one_epoch(classifier_weights):
    _, accuracy = classifier_weights
    assert accuracy >= 0.88


def test_frechet_distance_of_real_splits_is_far_below_untrained_generator(classifier_weights):
    path, _ = classifier_weights
    extractor = build_feature_extractor("lenet-fmnist", str(path))
    batches = lambda images: (to_float(b) for b in images.split(500))  # noqa: E731
    train_images = load_images("fashion_mnist", None, True, 32, limit=5000)
    train = fid_features_to_statistics(extract_features(extractor, batches(train_images), "cpu"))
    test = extract_features(extractor, batches(load_images("fashion_mnist", None, False, 32, limit=5000)), "cpu")
    torch.manual_seed(0)
    generator = SNGAN().generator.eval()
    with torch.no_grad():
        fake = extract_features(extractor, (generator(torch.randn(500, 128)) for _ in range(10)), "cpu")
    real_vs_real = float(fid_metric(train, test).compute())
    real_vs_untrained = float(fid_metric(train, fake).compute())
    assert real_vs_real * 20 < real_vs_untrained
