"""WGAN-GP covers the 8-Gaussian ring within a CPU-sized seeded budget (VEEGAN/PacGAN protocol)."""

import math
from types import SimpleNamespace

import pytest
import torch
from conftest import REPO

from lightning_gans import WGANGP
from lightning_gans.commands.fit import GANCLI
from lightning_gans.data.toy import TOY_DISTRIBUTIONS
from lightning_gans.metrics.evaluation import toy_metrics
from lightning_gans.metrics.toy import covered_threshold, mode_statistics, mode_statistics_from_counts
from lightning_gans.training.contract import TrainingProgress
from lightning_gans.training.sample_grids import toy_title

# The toy configs are tuned for grid25; the ring8 setting of this test (1000 G steps, about 35 s on 2 CPU cores):
RING8_SETTING = ["--data.distribution", "ring8", "--model.width", "128", "--model.depth", "3", "--model.lr_g", "1e-3",
                 "--model.lr_d", "1e-3", "--model.betas", "[0.5,0.9]", "--model.lr_schedule", "constant",
                 "--model.latent_dim", "2", "--model.ema_kimg", "88.3", "--model.gp_weight", "0.1",
                 "--model.max_g_steps", "1000", "--data.batch_size", "256"]


def test_wgan_gp_covers_at_least_7_of_8_ring_modes(tmp_path):
    GANCLI(args=["fit", "--config", str(REPO / "experiments" / "toy" / "wgan_gp.yaml"), "--runs_root", str(tmp_path),
                 "--run_name", "ring8", "--trainer.enable_progress_bar", "false", *RING8_SETTING])
    model = WGANGP.load_from_checkpoint(tmp_path / "wgan_gp" / "ring8" / "checkpoints" / "last.ckpt", weights_only=True)
    assert model.progress.g_step == 1000
    modes_fn, std = TOY_DISTRIBUTIONS["ring8"]
    samples = model.sample(torch.randn(2500, 2, generator=torch.Generator().manual_seed(1)))
    stats = mode_statistics(samples, modes_fn(), std)
    # Margins for another CPU's rounding (a different trajectory): --seed_everything 0 and 1 gave 8 of 8 modes and
    # high quality 0.60 and 0.58 (0.63 to 0.78 over seeds 0..5 with the zero-bias init of before), so one mode and
    # half the lowest quality of slack.
    assert stats["modes_covered"] >= 7
    assert stats["high_quality"] > 0.3


def test_mode_statistics_of_perfect_and_collapsed_samplers():
    modes_fn, std = TOY_DISTRIBUTIONS["grid25"]
    modes = modes_fn()
    generator = torch.Generator().manual_seed(0)
    perfect = modes.repeat(100, 1) + std * torch.randn(2500, 2, generator=generator)
    stats = mode_statistics(perfect, modes, std)
    # Within 3 std in 2-D holds with probability 1 - exp(-9/2) = 0.9889 for an exact sampler.
    assert stats["modes_covered"] == 25 and abs(stats["high_quality"] - 0.9889) < 0.006 and stats["reverse_kl"] < 0.01
    collapsed = modes[3] + std * torch.randn(2500, 2, generator=generator)
    stats = mode_statistics(collapsed, modes, std)
    assert stats["modes_covered"] == 1
    assert abs(stats["reverse_kl"] - torch.log(torch.tensor(25.0)).item()) < 1e-5


def test_counts_give_pacgan_coverage_veegan_coverage_and_reverse_kl():
    """Covered at >= 20 high-quality samples (PacGAN), any at >= 1 (VEEGAN); reverse KL = sum q log(K q)."""
    counts = torch.tensor([0.0, 1.0, 19.0, 20.0, 1960.0])
    stats = mode_statistics_from_counts(counts, num_samples=2500)
    q = counts[1:] / 2000
    assert stats["modes_covered"] == 2 and stats["modes_any"] == 4
    assert stats["high_quality"] == pytest.approx(2000 / 2500)
    assert stats["reverse_kl"] == pytest.approx(float((q * (5 * q).log()).sum()), rel=1e-6)


def test_the_coverage_threshold_is_20_per_2500_samples_rounded_and_at_least_1():
    assert [covered_threshold(n) for n in (2500, 10_000, 500, 64, 10)] == [20, 80, 4, 1, 1]


def test_at_10000_samples_a_mode_needs_80_high_quality_samples_to_be_covered():
    """PacGAN's 20 of 2,500 scaled: 50 of 10,000 would pass an unscaled 20 but falls short of that share, 80 meets it."""
    stats = mode_statistics_from_counts(torch.tensor([0.0, 50.0, 79.0, 80.0, 9000.0]), num_samples=10_000)
    assert stats["modes_covered"] == 2 and stats["modes_any"] == 4


def points_on_modes(modes: torch.Tensor, counts: list[int], num_samples: int) -> torch.Tensor:
    """counts[k] points exactly on mode k, the rest of `num_samples` far from every mode (none high quality)."""
    on_modes = torch.cat([modes[k].repeat(count, 1) for k, count in enumerate(counts)])
    return torch.cat([on_modes, torch.full((num_samples - len(on_modes), 2), 100.0)])


@pytest.mark.parametrize("num_samples", [2500, 10_000])
def test_the_picture_title_and_the_logged_metric_count_modes_under_one_rule(num_samples):
    """Mode 0 holds 50 points, mode 1 holds 80: both covered of 2,500 (threshold 20), only mode 1 of 10,000 (80)."""
    modes_fn, std = TOY_DISTRIBUTIONS["grid25"]
    modes = modes_fn()
    points = points_on_modes(modes, [50, 80], num_samples)
    logged = toy_metrics(lambda z: points[: len(z)], modes, std, points, num_samples, latent_dim=2)
    covered = {2500: 2, 10_000: 1}[num_samples]
    assert logged["toy/modes_covered"] == covered
    run = SimpleNamespace(name="wgan_gp", progress=TrainingProgress(g_step=7, images_seen=1792))  # a GANModule's reads
    data = SimpleNamespace(modes=modes, mode_std=std)
    assert f"{covered}/25 modes covered" in toy_title(run, points, data)


def test_reverse_kl_is_infinite_when_no_sample_is_high_quality():
    """A generator that misses every mode must not get the best reverse KL (0, a uniform histogram's)."""
    stats = mode_statistics_from_counts(torch.zeros(8), num_samples=2500)
    assert stats == {"modes_covered": 0, "modes_any": 0, "high_quality": 0, "reverse_kl": math.inf}
    assert mode_statistics_from_counts(torch.full((8,), 5.0), num_samples=2500)["reverse_kl"] == 0


def test_toy_metrics_are_logged_during_training(tmp_path):
    import csv

    GANCLI(args=["fit", "--config", str(REPO / "experiments" / "toy" / "sngan.yaml"), "--runs_root", str(tmp_path),
                 "--run_name", "toy", "--model.max_g_steps", "20", "--model.width", "32",
                 "--toy_metrics.every_n_g_steps", "10", "--toy_metrics.num_samples", "500",
                 "--trainer.enable_progress_bar", "false"])
    with open(tmp_path / "sngan" / "toy" / "metrics.csv") as f:
        rows = [r for r in csv.DictReader(f) if r.get("toy/modes_covered")]
    assert [int(r["step"]) for r in rows] == [10, 20]
    for row in rows:
        assert 0 <= float(row["toy/modes_covered"]) <= float(row["toy/modes_any"]) <= 8
        assert 0 <= float(row["toy/high_quality"]) <= 1
        assert float(row["toy/reverse_kl"]) >= 0 and 0 <= float(row["toy/frechet_xy"]) < 100


def test_frechet_xy_of_shifted_gaussians_is_the_squared_shift():
    """The toy curve's metric on raw 2-D points: N(0, I) against N((3, 4), I) is 3^2 + 4^2 = 25."""
    from lightning_gans.metrics.fid import fid_features_to_statistics, fid_metric

    generator = torch.Generator().manual_seed(0)
    real = torch.randn(20000, 2, generator=generator)
    fake = torch.randn(20000, 2, generator=generator) + torch.tensor([3.0, 4.0])
    assert abs(float(fid_metric(fid_features_to_statistics(real), fake).compute()) - 25) < 0.3
