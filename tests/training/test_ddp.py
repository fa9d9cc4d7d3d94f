"""Two-process CPU DDP (gloo) through the CLI: exits 0 and keeps G and D identical on both ranks, with
`--trainer.strategy ddp` or `auto` on two devices; Lightning's plain DDP names detect unused parameters."""

import os
import socket
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
from conftest import REPO
from pytorch_lightning.strategies import DDPStrategy, StrategyRegistry
from torch.nn.parallel import DistributedDataParallel

from lightning_gans.errors import ConfigError
from lightning_gans.training.ddp import PLAIN_DDP_NAMES, require_unused_parameter_detection


@pytest.mark.parametrize("technique, strategy", [("wgan_gp", "ddp"), ("sngan", "ddp"), ("sngan", "auto")])
def test_two_process_ddp_keeps_ranks_identical(technique, strategy, fashion_root, tmp_path):
    weights = tmp_path / "weights"
    command = [
        sys.executable, "-m", "lightning_gans.commands.main", "fit", "--config", str(REPO / "experiments" / f"{technique}.yaml"),
        "--runs_root", str(tmp_path / "runs"), "--run_name", "ddp",
        "--model.width", "8", "--model.max_g_steps", "10", "--data.root", str(fashion_root),
        "--data.batch_size", "8", "--fid.extractor", "null", "--trainer.accelerator", "cpu", "--trainer.devices", "2",
        "--trainer.strategy", strategy, "--trainer.enable_progress_bar", "false",
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


def test_lightnings_plain_ddp_names_build_ddp_that_detects_unused_parameters():
    """`auto` picks `ddp` on several devices, so it is covered too."""
    for name in PLAIN_DDP_NAMES:
        entry = StrategyRegistry[name]
        assert entry["strategy"] is DDPStrategy and entry["init_params"]["find_unused_parameters"] is True
        assert isinstance(StrategyRegistry.get(name), DDPStrategy)


@pytest.fixture
def one_process_group():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=0, world_size=1)
    yield
    dist.destroy_process_group()


def test_a_ddp_model_without_unused_parameter_detection_is_refused_before_training(one_process_group):
    def trainer(find_unused_parameters):
        model = DistributedDataParallel(torch.nn.Linear(2, 2), find_unused_parameters=find_unused_parameters)
        return type("Trainer", (), {"strategy": type("Strategy", (), {"model": model})})

    require_unused_parameter_detection(trainer(True))
    with pytest.raises(ConfigError, match="use --trainer.strategy ddp"):
        require_unused_parameter_detection(trainer(False))
