"""Every technique trains through the CLI on toy data and on small images, and resumes bit-exactly."""

import csv
import math
import shutil

import pytest
import torch
from conftest import QUIET, REPO

from lightning_gans.commands.fit import GANCLI

TECHNIQUES = ["wgan", "wgan_gp", "sngan", "r1gan"]
HALF = {"toy": 50, "images": 10}  # a run resumes from its checkpoint at HALF generator steps


def fit(config, runs, run_name, *overrides):
    GANCLI(args=["fit", "--config", str(REPO / config), "--runs_root", str(runs), "--run_name", run_name,
                 *QUIET, *overrides])


def small(kind, fashion_root):
    """Overrides that make a run CPU-sized: narrow networks, HALF x 2 generator steps, checkpoints every HALF."""
    half = HALF[kind]
    common = ["--model.max_g_steps", str(2 * half), "--checkpoint.every_n_g_steps", str(half),
              "--samples.every_n_g_steps", str(half), "--trainer.log_every_n_steps", str(half // 2)]
    if kind == "toy":
        return [*common, "--model.width", "64", "--data.batch_size", "64"]
    return [*common, "--model.width", "8", "--data.root", str(fashion_root), "--data.batch_size", "16",
            "--fid.extractor", "null"]


def config_path(technique, kind):
    return f"experiments/toy/{technique}.yaml" if kind == "toy" else f"experiments/{technique}.yaml"


@pytest.mark.parametrize("kind", ["toy", "images"])
@pytest.mark.parametrize("technique", TECHNIQUES)
def test_trains_and_resumes_on_the_same_trajectory(technique, kind, fashion_root, tmp_path):
    overrides, half = small(kind, fashion_root), HALF[kind]
    if technique == "wgan" and kind == "images":  # the toy case resumes after WGAN's critic bursts; here every one of
        overrides += ["--model.critic_burst", "false"]  # the 20 G steps would burst: 2,000 critic steps instead of 100
    fit(config_path(technique, kind), tmp_path, "full", *overrides)
    full = tmp_path / technique / "full"
    assert (full / "config.yaml").is_file()
    best = ["best.ckpt"] if kind == "toy" else []  # toy metrics rank the run; the image runs here evaluate no FID
    assert sorted(p.name for p in (full / "checkpoints").iterdir()) == [*best, f"g{half:07d}.ckpt",
                                                                        f"g{2 * half:07d}.ckpt", "last.ckpt"]
    assert (full / "samples" / f"g{2 * half:07d}.png").is_file()
    with open(full / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    losses = [float(row[key]) for row in rows for key in ("loss/d", "loss/g") if row.get(key)]
    assert losses and all(math.isfinite(v) for v in losses)

    # Resume a copy of the run from its half-way checkpoint: it must land on the same parameters.
    resumed = tmp_path / technique / "resumed" / "checkpoints"
    resumed.mkdir(parents=True)
    halfway = f"g{half:07d}.ckpt"
    shutil.copy(full / "checkpoints" / halfway, resumed / halfway)
    fit(config_path(technique, kind), tmp_path, "ignored", *overrides, "--ckpt_path", str(resumed / halfway))

    expected = torch.load(full / "checkpoints" / "last.ckpt", weights_only=True)
    actual = torch.load(resumed / "last.ckpt", weights_only=True)
    assert actual["lightning_gans"]["g_step"] == expected["lightning_gans"]["g_step"] == 2 * half
    assert actual["lightning_gans"]["images_seen"] == expected["lightning_gans"]["images_seen"]
    initial = torch.load(resumed / halfway, weights_only=True)["state_dict"]
    assert any(not torch.equal(initial[k], expected["state_dict"][k]) for k in expected["state_dict"])
    for key, value in expected["state_dict"].items():
        assert torch.equal(actual["state_dict"][key], value), key


@pytest.mark.parametrize("technique", [*TECHNIQUES, "stylegan_ada"])
def test_bf16_mixed_and_channels_last_train_with_finite_losses(technique, fashion_root, tmp_path):
    augmented = ["--model.ada_heuristic", "fixed", "--model.augment_p", "0.5"] if technique == "stylegan_ada" else []
    fit(f"experiments/{technique}.yaml", tmp_path, "bf16", "--model.width", "8", "--model.max_g_steps", "10",
        "--model.diagnostics_every", "5", "--data.root", str(fashion_root), "--data.batch_size", "16",
        "--trainer.precision", "bf16-mixed", "--model.channels_last", "true", "--fid.extractor", "null", *augmented)
    with open(tmp_path / technique / "bf16" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    logged = {key: float(row[key]) for row in rows for key in row if row[key] and "/" in key}
    assert {"loss/d", "loss/g", "critic/grad_norm_real", "critic/grad_norm_interp"} <= set(logged)
    assert any(key.startswith("critic/sigma_max/") for key in logged)
    assert all(math.isfinite(v) for v in logged.values())
    checkpoint = torch.load(tmp_path / technique / "bf16" / "checkpoints" / "last.ckpt", weights_only=True)
    assert all(torch.isfinite(v).all() for v in checkpoint["state_dict"].values() if v.is_floating_point())
