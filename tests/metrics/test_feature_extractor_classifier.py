"""The domain classifier behind `lenet-fmnist`: `train-evaluator` writes its weights, the extractor loads them
and gives features for generator-range images, and unusable weights or options give one-line errors."""

import os

import pytest
import torch
from conftest import one_line_config_error, write_fashion_mnist

from lightning_gans.commands.main import main
from lightning_gans.metrics import FEATURE_EXTRACTORS
from lightning_gans.metrics.extractor_classifier import default_weights_path, train_classifier


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One epoch on 256 tiny images: (weights path, test accuracy)."""
    root = write_fashion_mnist(tmp_path_factory.mktemp("fashion-mnist"), n_train=256, n_test=64)
    return train_classifier("fashion_mnist", str(root), epochs=1, output=str(tmp_path_factory.mktemp("out") / "c.pt"))


def test_train_writes_the_file_atomically(trained):
    path, test_accuracy = trained
    assert os.listdir(path.parent) == [path.name]  # the temporary file was renamed, not left behind
    payload = torch.load(path, weights_only=True)
    assert payload["dataset"] == "fashion_mnist" and payload["test_accuracy"] == test_accuracy
    assert 0 <= test_accuracy <= 1 and payload["architecture_version"] >= 1


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("resolution", [28, 32])
def test_extractor_gives_features_and_logits(trained, channels, resolution):
    extractor = FEATURE_EXTRACTORS["lenet-fmnist"](str(trained[0])).eval()
    images = torch.rand(5, channels, resolution, resolution) * 2 - 1
    with torch.no_grad():
        features, logits = extractor(images), extractor.classify(images)
    assert extractor.name == "lenet-fmnist" and extractor.num_features == 128
    assert features.shape == (5, 128) and features.dtype == torch.float32
    assert logits.shape == (5, 10)


def test_grey_rgb_gives_the_grey_features(trained):
    extractor = FEATURE_EXTRACTORS["lenet-fmnist"](str(trained[0])).eval()
    grey = torch.rand(4, 1, 32, 32) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(extractor(grey.expand(-1, 3, -1, -1)), extractor(grey))


def test_weights_hash_follows_the_file(trained, tmp_path):
    original = FEATURE_EXTRACTORS["lenet-fmnist"](str(trained[0]))
    payload = torch.load(trained[0], weights_only=True)
    payload["state_dict"]["head.1.bias"] += 1
    torch.save(payload, tmp_path / "changed.pt")
    changed = FEATURE_EXTRACTORS["lenet-fmnist"](str(tmp_path / "changed.pt"))
    assert len(original.weights_hash) == 16 and changed.weights_hash != original.weights_hash
    assert FEATURE_EXTRACTORS["lenet-fmnist"](str(trained[0])).weights_hash == original.weights_hash


def test_default_path_is_in_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path))
    assert default_weights_path("mnist") == tmp_path / "evaluators" / "classifier-mnist.pt"


def test_missing_weights_name_the_command(monkeypatch, tmp_path):
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path))
    message = one_line_config_error(lambda: FEATURE_EXTRACTORS["lenet-fmnist"](None))
    assert "lightning-gans train-evaluator --dataset fashion_mnist" in message
    message = one_line_config_error(lambda: FEATURE_EXTRACTORS["lenet-mnist"](str(tmp_path / "absent.pt")))
    assert "lightning-gans train-evaluator --dataset mnist" in message


def test_corrupt_or_foreign_weights_are_refused(trained, tmp_path):
    (tmp_path / "random.pt").write_bytes(os.urandom(4096))
    assert "corrupt" in one_line_config_error(lambda: FEATURE_EXTRACTORS["lenet-fmnist"](str(tmp_path / "random.pt")))
    torch.save({"weight": torch.zeros(3)}, tmp_path / "foreign.pt")
    assert "corrupt" in one_line_config_error(lambda: FEATURE_EXTRACTORS["lenet-fmnist"](str(tmp_path / "foreign.pt")))
    # Fashion-MNIST weights are not MNIST weights.
    assert "not mnist" in one_line_config_error(lambda: FEATURE_EXTRACTORS["lenet-mnist"](str(trained[0])))


def test_cli_trains_and_saves(fashion_root, tmp_path, capsys):
    output = tmp_path / "evaluator.pt"
    main(["train-evaluator", "--dataset", "fashion_mnist", "--root", str(fashion_root), "--epochs", "1",
          "--output", str(output)])
    assert output.is_file() and str(output) in capsys.readouterr().out


@pytest.mark.parametrize("options, expected", [
    (["--dataset", "cifar10"], "--dataset='cifar10' is invalid"),
    (["--dataset", "fashion_mnist", "--epochs", "0"], "--epochs=0 is invalid"),
    (["--dataset", "fashion_mnist", "--colour"], "unrecognized arguments: --colour"),
    ([], "required: --dataset"),
])
def test_cli_bad_options_exit_2_with_one_line(options, expected, fashion_root, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["train-evaluator", "--root", str(fashion_root), "--output", str(tmp_path / "c.pt"), *options])
    stderr = capsys.readouterr().err
    assert exit_info.value.code == 2
    assert stderr.count("\n") == 1 and stderr.startswith("lightning-gans: error: ") and expected in stderr
    assert not (tmp_path / "c.pt").exists()


def test_cli_output_directory_is_refused_before_training(fashion_root, tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["train-evaluator", "--dataset", "fashion_mnist", "--root", str(fashion_root), "--output", str(tmp_path)])
    captured = capsys.readouterr()
    assert "is a directory" in captured.err and "epoch" not in captured.out
