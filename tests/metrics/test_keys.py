"""Metric keys as a type: built where metrics are computed, parsed where they are read, the same string both ways."""

import pytest

from lightning_gans.metrics.keys import MetricKey

KEYS = [
    ("fid/lenet-fmnist_10k_train", MetricKey("fid", "lenet-fmnist", "10k", "train")),
    ("kid/inception_50k_test", MetricKey("kid", "inception", "50k", "test")),
    ("kid_std/inception_2500_train", MetricKey("kid_std", "inception", "2500", "train")),
    ("precision/lenet-mnist_2k_train", MetricKey("precision", "lenet-mnist", "2k", "train")),
    ("recall/lenet-mnist_2k_train", MetricKey("recall", "lenet-mnist", "2k", "train")),
    ("isc/inception_10k", MetricKey("isc", "inception", "10k")),
    ("isc_std/inception_10k", MetricKey("isc_std", "inception", "10k")),
    ("classes/covered_lenet-fmnist_2k", MetricKey("classes/covered", "lenet-fmnist", "2k")),
    ("classes/kl_uniform_lenet-fmnist_2k", MetricKey("classes/kl_uniform", "lenet-fmnist", "2k")),
    ("ifid/lenet-fmnist_10k_train", MetricKey("ifid", "lenet-fmnist", "10k", "train")),
    ("classes/accuracy_lenet-fmnist_2k", MetricKey("classes/accuracy", "lenet-fmnist", "2k")),
    ("toy/modes_covered", MetricKey("toy/modes_covered")),
    ("toy/class_accuracy", MetricKey("toy/class_accuracy")),
    ("toy/reverse_kl", MetricKey("toy/reverse_kl")),
    ("ada/p", MetricKey("ada/p")),
]


@pytest.mark.parametrize("text, key", KEYS)
def test_every_metric_family_parses_into_its_parts_and_prints_back_the_same_key(text, key):
    assert MetricKey.parse(text) == key
    assert str(key) == text


def test_a_key_is_built_from_the_protocols_sample_count():
    assert str(MetricKey.of("fid", "inception", 50_000, "train")) == "fid/inception_50k_train"
    assert str(MetricKey.of("classes/covered", "lenet-fmnist", 2500)) == "classes/covered_lenet-fmnist_2500"


def test_a_metrics_file_name_has_no_slash():
    assert MetricKey.parse("toy/modes_covered").file_name == "toy_modes_covered"
    assert MetricKey.parse("fid/inception_50k_train").file_name == "fid"
