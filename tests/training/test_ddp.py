"""Two-process CPU DDP (gloo) through the CLI: exits 0 and keeps G and D identical on both ranks."""

import os
import subprocess
import sys

import pytest
import torch
from conftest import REPO


@pytest.mark.parametrize("technique", ["wgan_gp", "sngan"])
def test_two_process_ddp_keeps_ranks_identical(technique, fashion_root, tmp_path):
    weights = tmp_path / "weights"
    command = [
        sys.executable, "-m", "lightning_gans.commands.main", "fit", "--config", str(REPO / "experiments" / f"{technique}.yaml"),
        "--runs_root", str(tmp_path / "runs"), "--run_name", "ddp",
        "--model.width", "8", "--model.max_g_steps", "10", "--data.root", str(fashion_root),
        "--data.batch_size", "8", "--fid.extractor", "null", "--trainer.accelerator", "cpu", "--trainer.devices", "2",
        "--trainer.strategy", "ddp", "--trainer.enable_progress_bar", "false",
        "--trainer.callbacks+=rank_weights.SaveRankWeights", f"--trainer.callbacks.dirpath={weights}",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    rank0, rank1 = (torch.load(weights / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    checkpoint = torch.load(tmp_path / "runs" / technique / "ddp" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["lightning_gans"]["g_step"] == 10
    assert checkpoint["lightning_gans"]["images_seen"] == 2 * 8 * 10 * checkpoint["hyper_parameters"]["n_critic"]
    for key in rank0:
        if key.startswith(("generator.", "critic.", "generator_ema.")):
            assert torch.equal(rank0[key], rank1[key]), key
