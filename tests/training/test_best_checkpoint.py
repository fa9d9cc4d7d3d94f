"""`checkpoints/best.ckpt`: written whenever an evaluation improves on the run's best, by the run's ranking, and the
best survives a resume."""

import math

import pytest
import torch
from conftest import QUIET, TOY_CONFIG

from lightning_gans.commands.main import main
from lightning_gans.metrics.protocol import ToyProtocol
from lightning_gans.training.best_checkpoint import rank


def toy(modes, high_quality, reverse_kl):
    return {"toy/modes_covered": modes, "toy/high_quality": high_quality, "toy/reverse_kl": reverse_kl,
            "toy/frechet_xy": 1.0}


def test_toy_ranking_is_modes_then_high_quality_then_reverse_kl():
    ordered = [toy(8, 0.5, 0.9), toy(8, 0.5, 0.1), toy(8, 0.4, 0.0), toy(7, 0.9, 0.0), toy(7, 0.9, math.inf)]
    ranks = [rank(metrics) for metrics in ordered]
    assert sorted(ranks) == [ranks[1], ranks[0], ranks[2], ranks[3], ranks[4]]


def test_image_ranking_is_the_fid_of_the_runs_protocol():
    metrics = {"fid/lenet-fmnist_10k_train": 12.5, "kid/lenet-fmnist_10k_train": 0.01, "classes/covered_x": 10.0}
    assert rank(metrics) == (12.5,)


def g_step_of(path) -> int:
    return torch.load(path, weights_only=True)["lightning_gans"]["g_step"]


def test_best_checkpoint_follows_the_ranking_and_its_best_survives_a_resume(tmp_path, monkeypatch):
    """Scripted evaluations at G steps 2, 4, 6, then (resumed) 8, 10: best is step 4 until step 10 beats it."""
    script = iter([toy(3, 0.5, 1.0), toy(5, 0.5, 1.0), toy(4, 0.9, 0.1), toy(4, 0.9, 0.0), toy(5, 0.6, 1.0)])
    monkeypatch.setattr(ToyProtocol, "measure", lambda *args: next(script))
    run = ["fit", "--config", TOY_CONFIG, *QUIET, "--runs_root", str(tmp_path), "--run_name", "best", "--model.width",
           "16", "--toy_metrics.every_n_g_steps", "2", "--samples.every_n_g_steps", "1000", "--logger", "none"]
    checkpoints = tmp_path / "wgan_gp" / "best" / "checkpoints"
    main([*run, "--model.max_g_steps", "6"])
    assert g_step_of(checkpoints / "best.ckpt") == 4
    main([*run, "--model.max_g_steps", "8", "--ckpt_path", "last"])
    assert g_step_of(checkpoints / "best.ckpt") == 4  # step 8 (4 modes) is worse than the restored best (5 modes)
    main([*run, "--model.max_g_steps", "10", "--ckpt_path", "last"])
    assert g_step_of(checkpoints / "best.ckpt") == 10  # 5 modes with more high-quality samples than step 4
    assert not list(checkpoints.glob("*.tmp"))
    with pytest.raises(StopIteration):
        next(script)
