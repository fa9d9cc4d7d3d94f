"""`lightning-gans generate`: a checkpoint's samples as PNGs, an .npz, a grid and a GIF, with the latent codes of
the run's evaluation."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import QUIET, REPO, TOY_CONFIG
from PIL import Image

from lightning_gans.commands.main import main
from lightning_gans.metrics.sampling import latents_for_indices
from lightning_gans.run.config import RunConfig
from lightning_gans.run.layout import RunLayout


@pytest.fixture(scope="module")
def image_run(fashion_root, tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    main(["fit", "--config", str(REPO / "experiments" / "sngan.yaml"), *QUIET, "--runs_root", str(runs), "--run_name",
          "img", "--model.width", "8", "--model.max_g_steps", "3", "--data.root", str(fashion_root),
          "--data.batch_size", "16", "--fid.extractor", "null", "--fid.seed", "5", "--logger", "none"])
    return runs / "sngan" / "img"


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    main(["fit", "--config", TOY_CONFIG, *QUIET, "--runs_root", str(runs), "--run_name", "toy", "--model.width", "16",
          "--model.max_g_steps", "3", "--toy_metrics.seed", "7", "--logger", "none"])
    return runs / "wgan_gp" / "toy"


def evaluation_samples(run_dir, n: int, seed: int) -> torch.Tensor:
    """What the evaluation generates: sample i from z_i of the run's seed."""
    run = RunLayout(run_dir)
    model = RunConfig.read(run).load_technique(run.last_checkpoint)
    return model.sample(latents_for_indices(0, n, model.hparams.latent_dim, seed))


def test_npz_and_png_folder_hold_the_evaluations_images_as_uint8_nhwc(image_run, tmp_path):
    main(["generate", "--ckpt_path", "last", "--run_dir", str(image_run), "--num_samples", "10",
          "--output", str(tmp_path / "fakes.npz"), "--grid", str(tmp_path / "grid.png")])
    main(["generate", "--ckpt_path", str(image_run / "checkpoints" / "last.ckpt"), "--num_samples", "10",
          "--output", str(tmp_path / "pngs")])
    images = np.load(tmp_path / "fakes.npz")["arr_0"]
    expected = ((evaluation_samples(image_run, 10, seed=5).clamp(-1, 1) + 1) * 127.5).round().byte()
    assert images.dtype == np.uint8 and images.shape == (10, 32, 32, 1)
    assert np.array_equal(images, expected.permute(0, 2, 3, 1).numpy())
    pngs = sorted((tmp_path / "pngs").iterdir())
    assert [p.name for p in pngs] == [f"{i:06d}.png" for i in range(10)]
    assert all(np.array_equal(np.asarray(Image.open(p)), images[i, ..., 0]) for i, p in enumerate(pngs))
    assert Image.open(tmp_path / "grid.png").size == (3 * 34 + 2, 4 * 34 + 2)  # 3 columns, 4 rows (the last holds 1)


def test_interpolation_is_an_animated_gif_from_one_seed_to_the_other(image_run, tmp_path):
    gif = tmp_path / "walk.gif"
    main(["generate", "--ckpt_path", "last", "--run_dir", str(image_run), "--interpolate", str(gif), "--frames", "5",
          "--interpolate_seeds", "3", "4"])
    animation = Image.open(gif)
    assert animation.n_frames == 5 and animation.size == (32, 32)
    first = ((evaluation_samples(image_run, 1, seed=3)[0, 0].clamp(-1, 1) + 1) * 127.5).round().byte().numpy()
    assert np.array_equal(np.asarray(animation.convert("L")), first)


def test_a_toy_run_writes_its_points_with_the_toy_metrics_seed(toy_run, tmp_path):
    main(["generate", "--ckpt_path", "last", "--run_dir", str(toy_run), "--num_samples", "300",
          "--output", str(tmp_path / "points.npz")])
    points = np.load(tmp_path / "points.npz")["arr_0"]
    assert points.dtype == np.float32 and points.shape == (300, 2)
    assert np.allclose(points, evaluation_samples(toy_run, 300, seed=7).numpy(), atol=0)


def test_truncation_on_a_model_without_it_is_one_line_and_exit_2(toy_run, tmp_path):
    result = subprocess.run([sys.executable, "-m", "lightning_gans.commands.main", "generate", "--ckpt_path", "last",
                             "--run_dir", str(toy_run), "--output", str(tmp_path / "p.npz"), "--truncation_psi", "0.7"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and not (tmp_path / "p.npz").exists()
    assert result.stderr == ("lightning-gans: error: --truncation_psi does not apply to WGANGP: drop it (only "
                             "StyleGANADA truncates its latent space)\n")


def test_a_label_on_an_unconditional_run_is_one_line_and_exit_2(toy_run, tmp_path):
    result = subprocess.run([sys.executable, "-m", "lightning_gans.commands.main", "generate", "--ckpt_path", "last",
                             "--run_dir", str(toy_run), "--output", str(tmp_path / "p.npz"), "--label", "3"],
                            capture_output=True, text=True)
    assert result.returncode == 2 and not (tmp_path / "p.npz").exists()
    assert result.stderr.count("\n") == 1 and "the model is unconditional" in result.stderr
