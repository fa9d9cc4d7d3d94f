"""Every technique trains conditionally through `lightning-gans fit` on tiny class folders (a few steps, with its
sample grid), a conditional run continues from its counters with `--resume auto`, ADA's r_v scores labelled held-out
reals, and the conditional toy WGAN-GP logs `toy/class_accuracy`."""

import csv
import math

import pytest
import torch
from conftest import QUIET, REPO, TOY_CONFIG
from labelled_data import class_folders

from lightning_gans.commands.main import main
from lightning_gans.metrics.extractor_classifier import train_classifier
from lightning_gans.techniques import TECHNIQUES


@pytest.fixture(scope="module")
def class_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("classes")
    class_folders(root, {"bag": 8, "coat": 8, "shirt": 8})
    return root


def fit(technique, root, runs, *overrides) -> None:
    main(["fit", "--config", str(REPO / "experiments" / f"{technique}.yaml"), *QUIET, "--logger", "none",
          "--runs_root", str(runs), "--run_name", "cond", "--data.dataset", "image_folder", "--data.root", str(root),
          "--data.conditional", "true", "--data.batch_size", "8", "--model.width", "8", "--fid.extractor", "null",
          "--samples.every_n_g_steps", "2", "--samples.num_samples", "6", *overrides])


def checkpoint(runs, technique) -> dict:
    return torch.load(runs / technique / "cond" / "checkpoints" / "last.ckpt", weights_only=True)


@pytest.mark.parametrize("technique", TECHNIQUES)
def test_each_technique_trains_conditionally_through_fit(technique, class_root, tmp_path):
    fit(technique, class_root, tmp_path, "--model.max_g_steps", "2")
    saved = checkpoint(tmp_path, technique)
    assert saved["lightning_gans"]["g_step"] == 2 and saved["hyper_parameters"]["class_names"] == ["bag", "coat", "shirt"]
    assert torch.equal(saved["state_dict"]["label_distribution"], torch.full((3,), 1 / 3))
    assert (tmp_path / technique / "cond" / "samples" / "g0000002.png").is_file()


def test_a_conditional_class_folder_run_logs_the_intra_class_fid_and_its_grid(class_root, fashion_root, tmp_path,
                                                                               monkeypatch):
    """lenet-fmnist (trained for an epoch on the tests' Fashion-MNIST) measures the class folders' 3-channel images
    in grey; 24 samples are all the folders' images, 8 a class. Its classes are Fashion-MNIST's, not the folders',
    so no class accuracy is logged."""
    monkeypatch.setenv("LIGHTNING_GANS_CACHE", str(tmp_path / "cache"))
    train_classifier("fashion_mnist", root=str(fashion_root), epochs=1)
    fit("sngan", class_root, tmp_path, "--model.max_g_steps", "2", "--fid.extractor", "lenet-fmnist",
        "--fid.num_samples", "24", "--fid.every_n_g_steps", "2", "--fid.batch_size", "12")
    with open(tmp_path / "sngan" / "cond" / "metrics.csv") as f:
        rows = [row for row in csv.DictReader(f) if row.get("ifid/lenet-fmnist_24_train")]
    assert len(rows) == 1 and float(rows[0]["ifid/lenet-fmnist_24_train"]) > 0
    assert not any(key.startswith("classes/accuracy") for key in rows[0])
    assert (tmp_path / "sngan" / "cond" / "samples" / "g0000002.png").is_file()


def test_a_conditional_run_continues_from_its_counters_with_resume_auto(class_root, tmp_path):
    fit("wgan_gp", class_root, tmp_path, "--model.max_g_steps", "2")
    first = checkpoint(tmp_path, "wgan_gp")["lightning_gans"]
    fit("wgan_gp", class_root, tmp_path, "--model.max_g_steps", "3", "--resume", "auto")
    resumed = checkpoint(tmp_path, "wgan_gp")["lightning_gans"]
    assert resumed["g_step"] == 3 and resumed["d_step"] == first["d_step"] + first["d_step"] // 2
    assert resumed["images_seen"] == first["images_seen"] * 3 // 2


def test_adas_rv_scores_the_held_out_reals_with_their_labels(class_root, tmp_path):
    fit("stylegan_ada", class_root, tmp_path, "--model.max_g_steps", "4", "--model.ada_heuristic", "rv",
        "--data.validation_images", "6", "--model.ada_interval", "2", "--trainer.log_every_n_steps", "2")
    with open(tmp_path / "stylegan_ada" / "cond" / "metrics.csv") as f:
        measured = [float(row["ada/rv"]) for row in csv.DictReader(f) if row.get("ada/rv")]
    assert measured and all(math.isfinite(value) for value in measured)


def test_the_conditional_toy_wgan_gp_logs_its_class_accuracy(tmp_path):
    main(["fit", "--config", TOY_CONFIG, *QUIET, "--logger", "csv", "--runs_root", str(tmp_path), "--run_name", "t",
          "--data.conditional", "true", "--model.width", "16", "--model.max_g_steps", "4",
          "--toy_metrics.every_n_g_steps", "2", "--toy_metrics.num_samples", "250", "--samples.every_n_g_steps", "2"])
    with open(tmp_path / "wgan_gp" / "t" / "metrics.csv") as f:
        accuracies = [float(row["toy/class_accuracy"]) for row in csv.DictReader(f) if row.get("toy/class_accuracy")]
    assert len(accuracies) == 2 and all(0 <= accuracy <= 1 for accuracy in accuracies)
    assert (tmp_path / "wgan_gp" / "t" / "samples" / "g0000004.png").is_file()
