"""Class-conditional training through the real CLI on Fashion-MNIST-shaped data (the tests' own IDX files with their
labels): fit with the FID callback and the sample grid, then generate by class name or index, the class-row grid, the
walk within a class, bad labels, and evaluate's intra-class FID and class accuracy on 1 and 2 processes."""

import csv
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import yaml
from conftest import QUIET, REPO
from PIL import Image

from lightning_gans.bench.reference import real_data_reference
from lightning_gans.commands.evaluate import evaluate
from lightning_gans.commands.generate import to_uint8
from lightning_gans.commands.main import main
from lightning_gans.data.sources import load_images, load_labels
from lightning_gans.data.stream import to_float
from lightning_gans.metrics.extractor_classifier import train_classifier
from lightning_gans.metrics.sampling import latents_for_indices
from lightning_gans.run.config import RunConfig
from lightning_gans.run.layout import RunLayout

SEED = 1
PROTOCOL = "lenet-fmnist_40_train"  # 40 fakes: 4 a class; the 40 reals hold 2 or more of each class
FIT = ["--config", str(REPO / "experiments" / "sngan.yaml"), *QUIET, "--data.conditional", "true",
       "--model.width", "8", "--data.batch_size", "16", "--fid.num_samples", "40", "--fid.reference_split", "train",
       "--fid.batch_size", "32", "--fid.seed", str(SEED), "--logger", "none"]


@pytest.fixture(scope="module")
def conditional_run(fashion_root, tmp_path_factory):
    """A 3-step conditional SN-GAN with the FID callback and a sample grid at step 3, and the cache of the lenet
    evaluator trained for one epoch on the tests' data."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["LIGHTNING_GANS_CACHE"] = str(cache)
    train_classifier("fashion_mnist", root=str(fashion_root), epochs=1)
    runs = tmp_path_factory.mktemp("runs")
    main(["fit", *FIT, "--runs_root", str(runs), "--run_name", "cond", "--data.root", str(fashion_root),
          "--model.max_g_steps", "3", "--fid.every_n_g_steps", "3", "--samples.every_n_g_steps", "3",
          "--samples.num_samples", "20"])
    yield runs / "sngan" / "cond", cache
    del os.environ["LIGHTNING_GANS_CACHE"]


def cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lightning_gans.commands.main", *args], capture_output=True, text=True,
                          timeout=600, env=env)


def model_of(run_dir):
    run = RunLayout(run_dir)
    return RunConfig.read(run).load_technique(run.last_checkpoint)


def test_training_logs_the_intra_class_fid_and_class_accuracy_and_draws_a_row_per_class(conditional_run):
    run, _ = conditional_run
    with open(run / "metrics.csv") as f:
        rows = [row for row in csv.DictReader(f) if row.get(f"ifid/{PROTOCOL}")]
    assert [int(row["step"]) for row in rows] == [3]
    assert float(rows[0][f"ifid/{PROTOCOL}"]) > 0 and 0 <= float(rows[0]["classes/accuracy_lenet-fmnist_40"]) <= 1
    assert float(rows[0][f"fid/{PROTOCOL}"]) > 0
    grid = Image.open(run / "samples" / "g0000003.png")
    assert grid.height > 10 * 34  # 10 rows of 32-px samples (2 each) under the title strip


def test_the_checkpoint_holds_the_class_names_and_the_training_labels_distribution(conditional_run):
    model = model_of(conditional_run[0])
    assert model.num_classes == 10 and model.class_names[6] == "Shirt"
    assert torch.isclose(model.label_distribution.sum(), torch.tensor(1.0))
    assert not torch.allclose(model.label_distribution, torch.full((10,), 0.1))  # the tests' labels are not balanced


def test_generate_by_class_name_or_index_writes_that_class(conditional_run, tmp_path):
    run, _ = conditional_run
    for name, label in (("shirt", "shirt"), ("six", "6")):
        main(["generate", "--ckpt_path", "last", "--run_dir", str(run), "--num_samples", "4", "--label", label,
              "--output", str(tmp_path / f"{name}.npz")])
    shirts = np.load(tmp_path / "shirt.npz")["arr_0"]
    assert np.array_equal(shirts, np.load(tmp_path / "six.npz")["arr_0"]) and shirts.shape == (4, 32, 32, 1)
    model = model_of(run)
    expected = to_uint8(model.sample(latents_for_indices(0, 4, model.latent_dim, SEED), labels=torch.full((4,), 6)))
    assert np.array_equal(shirts, expected)


def test_the_grid_has_a_row_per_class_and_the_walk_stays_in_its_class(conditional_run, tmp_path):
    run, _ = conditional_run
    main(["generate", "--ckpt_path", "last", "--run_dir", str(run), "--num_samples", "20",
          "--grid", str(tmp_path / "grid.png"), "--interpolate", str(tmp_path / "walk.gif"), "--frames", "3",
          "--label", "Bag"])
    assert Image.open(tmp_path / "grid.png").size == (20 * 34 + 2, 34 + 2)  # one row: the class named
    main(["generate", "--ckpt_path", "last", "--run_dir", str(run), "--num_samples", "20",
          "--grid", str(tmp_path / "all.png")])
    assert Image.open(tmp_path / "all.png").size == (2 * 34 + 2, 10 * 34 + 2)  # 10 classes, 2 samples a row
    walk = Image.open(tmp_path / "walk.gif")
    assert walk.n_frames == 3
    model = model_of(run)
    first = to_uint8(model.sample(latents_for_indices(0, 1, model.latent_dim, 0), labels=torch.tensor([8])))[0, ..., 0]
    assert np.array_equal(np.asarray(walk.convert("L")), first)


@pytest.mark.parametrize("label", ["hat", "10", "-1"])
def test_a_bad_label_is_one_line_exit_2_and_writes_nothing(conditional_run, tmp_path, label):
    result = cli("generate", "--ckpt_path", "last", "--run_dir", str(conditional_run[0]), "--label", label,
                 "--output", str(tmp_path / "o.npz"), "--grid", str(tmp_path / "g.png"))
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-2000:]
    assert f"--label='{label}' is invalid" in result.stderr and list(tmp_path.iterdir()) == []


def test_evaluate_gives_the_same_class_metrics_on_one_and_two_processes_as_in_training(conditional_run):
    run, cache = conditional_run
    checkpoint = run / "checkpoints" / "last.ckpt"
    single = evaluate(str(checkpoint), devices=1, accelerator="cpu")
    result = cli("evaluate", "--ckpt_path", str(checkpoint), "--devices", "2", "--accelerator", "cpu",
                 env={**os.environ, "LIGHTNING_GANS_CACHE": str(cache)})
    assert result.returncode == 0, result.stderr[-3000:]
    printed = dict(line.split() for line in result.stdout.splitlines() if line.startswith(("ifid/", "classes/", "fid/")))
    for key in (f"ifid/{PROTOCOL}", f"fid/{PROTOCOL}"):
        assert float(printed[key]) == pytest.approx(single[key], rel=1e-6)
    assert float(printed["classes/accuracy_lenet-fmnist_40"]) == single["classes/accuracy_lenet-fmnist_40"]
    with open(run / "metrics.csv") as f:
        logged = [float(row[f"ifid/{PROTOCOL}"]) for row in csv.DictReader(f) if row.get(f"ifid/{PROTOCOL}")][-1]
    assert single[f"ifid/{PROTOCOL}"] == pytest.approx(logged, rel=1e-6)


def test_too_few_fid_samples_for_the_classes_stop_fit_before_its_run_directory(conditional_run, fashion_root, tmp_path):
    result = cli("fit", *FIT, "--runs_root", str(tmp_path), "--run_name", "few", "--data.root", str(fashion_root),
                 "--fid.num_samples", "19", env={**os.environ, "LIGHTNING_GANS_CACHE": str(conditional_run[1])})
    assert result.returncode == 2 and result.stderr.count("\n") == 1, result.stderr[-2000:]
    assert "fid.num_samples=19" in result.stderr and "use at least 20" in result.stderr
    assert not (tmp_path / "sngan").exists()


def run_with(run, directory, **changes) -> SimpleNamespace:
    """A bench run whose config.yaml is `run`'s with `changes` ({"fid.num_samples": 64, ...}) applied."""
    values = yaml.safe_load((run / "config.yaml").read_text())
    for dotted, value in changes.items():
        section, name = dotted.split(".")
        (values[section].get("init_args", values[section]))[name] = value
    directory.mkdir()
    (directory / "config.yaml").write_text(yaml.safe_dump(values))
    return SimpleNamespace(run_dir=directory)


def test_the_bench_real_data_row_of_conditional_runs_adds_the_held_out_images_class_metrics(conditional_run, tmp_path):
    """A protocol of 100 images, more than the 64 of the tests' test split: all of it is scored, 3 or more of each
    class. An unconditional run listed first (the reference row of fmnist-cond) has no labels: the conditional run's
    protocol is the one scored."""
    run, _ = conditional_run
    runs = [run_with(run, tmp_path / "uncond", **{"fid.num_samples": 100, "data.conditional": False}),
            run_with(run, tmp_path / "cond", **{"fid.num_samples": 100})]
    reference = real_data_reference(tmp_path, runs)
    assert reference["images"] == "64 fashion_mnist test images with their labels"
    values = yaml.safe_load((runs[1].run_dir / "config.yaml").read_text())
    root = values["data"]["init_args"]["root"]
    images = load_images("fashion_mnist", root, False, 32)  # all of the test split: the held-out images
    extractor = RunConfig.read(RunLayout(runs[1].run_dir)).fid_protocol.build_extractor()
    with torch.no_grad():
        predicted = extractor.classify_features(extractor(to_float(images))).argmax(1)
    expected = (predicted == load_labels("fashion_mnist", root, False)).double().mean()
    assert reference["classes/accuracy_lenet-fmnist_64"] == pytest.approx(float(expected), abs=1e-12)
    assert reference["ifid/lenet-fmnist_64_train"] > 0


def test_held_out_images_with_fewer_than_two_of_a_class_give_the_real_row_no_class_metrics(conditional_run, tmp_path):
    """The run's own protocol: 40 of the 64 test images, 1 of class 7 among them."""
    reference = real_data_reference(tmp_path, [run_with(conditional_run[0], tmp_path / "cond")])
    assert reference["images"] == "40 fashion_mnist test images (no class metrics: 1 of class 7, fewer than 2)"
    assert f"fid/{PROTOCOL}" in reference and not any(key.startswith(("ifid/", "classes/accuracy")) for key in reference)
