"""StyleGAN-ADA: the p controller's rule, augmentation on every path into D but not into the diagnostics, the
network options, resume and DDP agreement on p."""

import csv
import math
import os
import shutil
import subprocess
import sys

import pytest
import pytorch_lightning as pl
import torch
from conftest import REPO, one_line_config_error
from test_training import fit

from lightning_gans import StyleGANADA
from lightning_gans.errors import ConfigError
from lightning_gans.nets import stylegan
from lightning_gans.nets.augment import AugmentPipe
from lightning_gans.nets.stylegan import StyleCritic, build_stylegan, minibatch_stddev
from lightning_gans.objectives.penalties import critic_gradient_norm
from lightning_gans.techniques.ada import AdaController
from lightning_gans.techniques.base import GANTechnique
from lightning_gans.techniques.stylegan_ada import AUGMENT_P_KEY

CONFIG = "experiments/stylegan_ada.yaml"


def small(fashion_root, *overrides):
    """A CPU-sized run: width 8, batch 16, and p moving 16 * 4 / 1000 = 0.064 per controller update."""
    return ["--model.width", "8", "--data.root", str(fashion_root), "--data.batch_size", "16", "--fid.extractor",
            "null", "--model.ada_kimg", "1", "--samples.every_n_g_steps", "1000", *overrides]


def ada_state(path):
    """The controller's state with p, the AugmentPipe's buffer, and the images seen, of a checkpoint."""
    checkpoint = torch.load(path, weights_only=True)
    state = checkpoint["lightning_gans"]
    return {**state["ada"], "p": checkpoint["state_dict"][AUGMENT_P_KEY].item()}, state["images_seen"]


def controller(heuristic="rt", p=0.0, **options):
    """A controller of the p of a pipe of its own."""
    return AdaController(AugmentPipe(p=p), heuristic, **options)


# ---------------------------------------------------------------------------------------------- controller
def test_controller_moves_p_by_the_specified_step_every_interval():
    ada = controller("rt", target=0.6, interval=4, ada_kimg=500)
    step = 64 * 4 / 500_000
    for update in range(1, 4):
        for _ in range(3):
            ada.accumulate(torch.ones(64))
            assert ada.update() is None
        ada.accumulate(torch.ones(64))
        assert ada.update() == {"ada/rt": 1.0}
        assert ada.p == pytest.approx(update * step, rel=1e-12, abs=0)
    ada = controller("rt", p=0.5, ada_kimg=500)
    for _ in range(8):
        ada.accumulate(torch.full((64,), -1.0))
        ada.update()
    assert ada.p == pytest.approx(0.5 - 2 * step, rel=1e-12)


def test_p_rises_monotonely_with_the_fraction_of_reals_d_calls_real():
    """ADA's premise as a rule: the more of the reals D scores positive (r_t = 2 f - 1), the higher p ends; p rises
    exactly when r_t > 0.6, i.e. f > 0.8, stays at f = 0.8 and falls below, by 10 * 4 / 1000 per update."""
    final_p = []
    for positive in range(11):  # f = positive / 10 of each batch of 10 reals
        ada = controller("rt", target=0.6, interval=4, ada_kimg=1, p=0.5)
        scores = torch.tensor([1.0] * positive + [-1.0] * (10 - positive))
        for _ in range(3 * 4):
            ada.accumulate(scores)
            ada.update()
        final_p.append(ada.p)
    assert all(a <= b for a, b in zip(final_p, final_p[1:]))
    assert final_p == [pytest.approx(0.5 - 3 * 0.04)] * 8 + [0.5] + [pytest.approx(0.5 + 3 * 0.04)] * 2


def test_p_passes_one_while_the_signal_stays_above_the_target():
    """Floored at 0 only, as in stylegan2-ada: 100 images per update at ada_kimg 1 move p by 0.1."""
    ada = controller("rt", target=0.6, interval=1, ada_kimg=1, p=0.9)
    for _ in range(3):
        ada.accumulate(torch.ones(100))
        ada.update()
    assert ada.p == pytest.approx(1.2, rel=1e-12)


def test_rv_heuristic_and_fixed_p():
    ada = controller("rv", interval=1, ada_kimg=1)
    ada.accumulate(torch.full((10,), 2.0), fake_scores=torch.full((10,), -2.0), val_scores=torch.full((10,), 0.0))
    assert ada.update() == {"ada/rt": 1.0, "ada/rv": 0.5} and ada.p == 0  # r_v 0.5 < 0.6: stays at 0
    fixed = controller("fixed", interval=1, p=0.3)
    fixed.accumulate(torch.ones(10))
    assert fixed.update() == {"ada/rt": 1.0} and fixed.p == 0.3


@pytest.mark.parametrize("sign, initial_p, final_p", [(1.0, 0.9, 0.9 + 3 * 0.064), (-1.0, 0.1, 0.0)])
def test_p_follows_forced_critic_outputs_in_training(sign, initial_p, final_p, fashion_root, tmp_path, monkeypatch):
    """D's scores forced to +1 (always 'real'): p rises by 0.064 every 4 D steps, from 0.9 past 1 (D steps 9 to 12
    augment at p = 1.028); forced to -1 it falls from 0.1 and stays at 0."""
    forward = StyleCritic.forward
    monkeypatch.setattr(StyleCritic, "forward", lambda self, x: forward(self, x) * 0 + sign)
    fit(CONFIG, tmp_path, "forced", *small(fashion_root, "--model.max_g_steps", "12", "--model.augment_p",
                                           str(initial_p)))
    ada, images_seen = ada_state(tmp_path / "stylegan_ada" / "forced" / "checkpoints" / "last.ckpt")
    assert images_seen == 12 * 16
    assert ada["p"] == pytest.approx(final_p, rel=1e-12, abs=0)


def test_rv_heuristic_trains_on_held_out_images_and_logs_rv(fashion_root, tmp_path):
    fit(CONFIG, tmp_path, "rv", *small(fashion_root, "--model.max_g_steps", "8", "--model.ada_heuristic", "rv",
                                       "--data.validation_images", "64", "--trainer.log_every_n_steps", "4"))
    with open(tmp_path / "stylegan_ada" / "rv" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2
    assert all(math.isfinite(float(row[key])) for row in rows for key in ("ada/rv", "ada/rt", "ada/p"))


# ---------------------------------------------------------------------------------------- augmented paths
def test_every_path_into_d_is_augmented():
    """The generator's loss, the critic's loss and R1 all see augmented images (stylegan2-ada's non-leaking
    setup); with p = 1 the generator loss differs from D's un-augmented verdict."""
    model = StyleGANADA(width=8, augment_p=1.0, ada_heuristic="fixed")
    seen = []
    model.critic.augment.register_forward_hook(lambda module, args, out: seen.append(args[0]))
    fake = model.generator(torch.randn(8, model.hparams.latent_dim))
    g_loss = model.generator_loss(fake)["loss/g"]
    assert len(seen) == 1 and seen[0] is fake
    plain = model.adversarial.generator(model.critic.discriminator(fake))
    assert not torch.allclose(g_loss, plain)
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    terms = model.critic_loss(real, fake.detach())  # d_step 0: a lazy R1 step, in a D step of its own (Dreg)
    assert "penalty/r1" not in terms and len(seen) == 3  # real, fake
    regularization = model.critic_regularization(real, fake.detach())
    assert "penalty/r1" in regularization and len(seen) == 4 and seen[3].requires_grad  # R1 of augmented reals
    model.hparams.lazy_regularization = "folded"
    terms = model.critic_loss(real, fake.detach())
    assert "penalty/r1" in terms and len(seen) == 6  # real, fake; R1 from the reals' pass
    assert seen[4].requires_grad and not seen[5].requires_grad  # R1 takes the reals' gradient from that pass


def test_critic_diagnostics_measure_d_without_augmentation_and_restore_p():
    """At p = 1 the diagnostics equal those at p = 0 and D's own input-gradient norms; the base class's, which
    go through the augmentations, differ."""
    model = StyleGANADA(width=8, augment_p=1.0, ada_heuristic="fixed")
    real, fake = torch.rand(2, 8, 1, 32, 32) * 2 - 1

    def diagnostics(p, method=StyleGANADA.critic_diagnostics):
        model.critic.augment.p.fill_(p)
        torch.manual_seed(0)  # the same interpolates
        return method(model, real, fake)

    at_one, at_zero = diagnostics(1.0), diagnostics(0.0)
    assert at_one.keys() == at_zero.keys() and all(torch.equal(at_one[k], at_zero[k]) for k in at_one)
    assert torch.equal(at_one["critic/grad_norm_real"], critic_gradient_norm(model.critic.discriminator, real).mean())
    assert not torch.equal(diagnostics(1.0, GANTechnique.critic_diagnostics)["critic/grad_norm_real"],
                           at_one["critic/grad_norm_real"])
    diagnostics(0.7)
    assert model.critic.augment.p == 0.7


def test_the_unaugmented_critic_switches_the_pipe_back_on_after_an_error():
    critic = StyleGANADA(width=8, augment_p=0.4).critic
    with pytest.raises(RuntimeError), critic.unaugmented():
        assert not critic.augment.enabled
        raise RuntimeError
    assert critic.augment.enabled and critic.augment.p == 0.4


def test_a_fixed_p_of_zero_switches_the_pipe_off_and_a_moving_p_keeps_it_on():
    assert not StyleGANADA(width=8, ada_heuristic="fixed", augment_p=0.0).critic.augment.enabled
    assert StyleGANADA(width=8, ada_heuristic="fixed", augment_p=0.2).critic.augment.enabled
    assert StyleGANADA(width=8, ada_heuristic="rt", augment_p=0.0).critic.augment.enabled


@pytest.mark.parametrize("resolution", [32, 64])
def test_networks_reach_the_configured_resolution(resolution):
    generator, discriminator = build_stylegan((3, resolution, resolution), latent_dim=16, width=8, dropout=0)
    images = generator(torch.randn(5, 16))
    assert images.shape == (5, 3, resolution, resolution)
    assert discriminator(images).shape == (5,)


def test_minibatch_stddev_groups_the_largest_divisor_of_the_batch_up_to_the_group_size():
    """Six values 0..5: a group of 3 holds samples {0, 2, 4} and {1, 3, 5} (std sqrt(8/3) each), a group of 2
    {0, 3}, {1, 4}, {2, 5} (std 1.5); a group size of 4 or 5 gives 3, of 32 the whole batch (std sqrt(35/12))."""
    x = torch.arange(6.0).reshape(6, 1, 1, 1)
    for group_size, std in ((1, 0.0), (2, 1.5), (3, math.sqrt(8 / 3)), (4, math.sqrt(8 / 3)), (5, math.sqrt(8 / 3)),
                            (32, math.sqrt(35 / 12))):
        out = minibatch_stddev(x, group_size)
        assert torch.equal(out[:, :1], x)
        torch.testing.assert_close(out[:, 1].flatten(), torch.full((6,), math.sqrt(std**2 + 1e-8)))


def test_mbstd_group_size_reaches_the_minibatch_stddev_layer_of_d(monkeypatch):
    """D's forward hands `model.mbstd_group_size` (default 32, ADA's cifar preset) to `minibatch_stddev`, whose
    grouping the closed-form test above checks."""
    seen = []
    monkeypatch.setattr(stylegan, "minibatch_stddev", lambda x, group_size: seen.append(group_size) or
                        minibatch_stddev(x, group_size))
    for options, expected in (({"mbstd_group_size": 2}, 2), ({}, 32)):
        StyleGANADA(width=8, **options).critic.discriminator(torch.zeros(4, 1, 32, 32))
        assert seen.pop() == expected
    with pytest.raises(ConfigError, match="model.mbstd_group_size=0 is invalid"):
        StyleGANADA(width=8, mbstd_group_size=0)


def test_d_architecture_and_w_dim_reach_the_networks():
    """ADA's cifar preset's options (D without residual skips, w of its own size) reach D and G; by default D is
    residual and w has latent_dim features."""
    model = StyleGANADA(width=8, latent_dim=32, d_architecture="orig", w_dim=48)
    assert all(block.skip is None for block in model.critic.discriminator.blocks)
    assert model.generator.mapping(torch.randn(2, 32)).shape == (2, 48)
    assert model.sample(torch.randn(2, 32)).shape == (2, 1, 32, 32)
    default = StyleGANADA(width=8, latent_dim=32)
    assert all(block.skip is not None for block in default.critic.discriminator.blocks)
    assert default.generator.mapping.w_avg.shape == (32,)


@pytest.mark.parametrize("options, message", [({"d_architecture": "skip"}, "model.d_architecture='skip' is invalid"),
                                              ({"w_dim": 0}, "model.w_dim=0 is invalid")])
def test_bad_d_architecture_or_w_dim_is_a_one_line_config_error(options, message):
    assert message in one_line_config_error(lambda: StyleGANADA(width=8, **options))


def test_a_resolution_the_networks_cannot_produce_is_refused():
    with pytest.raises(ConfigError, match="data.resolution=48 is invalid: .* power-of-two size"):
        build_stylegan((1, 48, 48), latent_dim=16, width=8, dropout=0)


def test_truncation_pulls_samples_to_the_average():
    model = StyleGANADA(width=8)
    model.generator_ema.mapping.w_avg.normal_()
    z1, z2 = torch.randn(2, 4, model.hparams.latent_dim)

    def sample(z, psi):
        torch.manual_seed(0)  # the same per-pixel noise
        return model.sample(z, truncation_psi=psi)

    assert torch.allclose(sample(z1, 0.0), sample(z2, 0.0))  # psi 0: every w is w_avg
    assert not torch.allclose(sample(z1, 1.0), sample(z2, 1.0), atol=1e-3)


# ------------------------------------------------------------------------------------------ resume, DDP
def test_resume_restores_p_and_kimg_exactly(fashion_root, tmp_path):
    # p starts at 0.5 so it can move both ways; interval 3 leaves two steps in the accumulators at step 8.
    overrides = small(fashion_root, "--model.max_g_steps", "16", "--checkpoint.every_n_g_steps", "8",
                      "--model.augment_p", "0.5", "--model.ada_interval", "3")
    fit(CONFIG, tmp_path, "full", *overrides)
    full = tmp_path / "stylegan_ada" / "full" / "checkpoints"
    resumed = tmp_path / "stylegan_ada" / "resumed" / "checkpoints"
    resumed.mkdir(parents=True)
    shutil.copy(full / "g0000008.ckpt", resumed / "g0000008.ckpt")
    fit(CONFIG, tmp_path, "ignored", *overrides, "--ckpt_path", str(resumed / "g0000008.ckpt"))

    (expected_ada, expected_images), (actual_ada, actual_images) = map(ada_state, (full / "last.ckpt",
                                                                                    resumed / "last.ckpt"))
    halfway_ada, _ = ada_state(full / "g0000008.ckpt")
    assert halfway_ada["steps"] == 2 and sum(halfway_ada["sums"]) != 0
    assert {halfway_ada["p"], expected_ada["p"]} != {0.5}  # p moved
    assert actual_ada == expected_ada and actual_images == expected_images == 16 * 16
    expected = torch.load(full / "last.ckpt", weights_only=True)["state_dict"]
    actual = torch.load(resumed / "last.ckpt", weights_only=True)["state_dict"]
    for key, value in expected.items():
        assert torch.equal(actual[key], value), key


def test_two_process_ddp_agrees_on_weights_and_p(fashion_root, tmp_path):
    weights = tmp_path / "weights"
    command = [
        sys.executable, "-m", "lightning_gans.commands.main", "fit", "--config", str(REPO / CONFIG),
        "--runs_root", str(tmp_path / "runs"), "--run_name", "ddp",
        # target -2: p rises at every update whatever D scores (r_t >= -1), by 2 ranks * 16 * 4 / 1000 if the image
        # count is reduced across ranks
        *small(fashion_root, "--model.max_g_steps", "8", "--model.ada_target", "-2"),
        "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
        "--trainer.enable_progress_bar", "false",
        "--trainer.callbacks+=rank_weights.SaveRankWeights", f"--trainer.callbacks.dirpath={weights}",
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "tests"), os.environ.get("PYTHONPATH", "")])}
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]

    rank0, rank1 = (torch.load(weights / f"rank{r}.pt", weights_only=True) for r in (0, 1))
    assert rank0["ada.p"] == rank1["ada.p"] == pytest.approx(2 * 0.128, rel=1e-12)
    for key in rank0:
        if key.startswith(("generator.", "critic.", "generator_ema.")):
            assert torch.equal(rank0[key], rank1[key]), key


# ------------------------------------------------------------------------------------------ p as a buffer
def test_p_is_a_buffer_of_the_pipe_that_the_controller_moves_in_place():
    """Saved in the critic's state_dict and moved with the module (as stylegan2-ada's AugmentPipe.p); the controller
    holds no copy of its own."""
    model = StyleGANADA(width=8, augment_p=0.25, ada_kimg=1, ada_interval=1)
    assert model.state_dict()[AUGMENT_P_KEY].item() == 0.25 and model.critic.augment.p.dtype == torch.float64
    model.ada.accumulate(torch.ones(100))
    model.ada.update()
    assert model.critic.augment.p.item() == model.ada.p == pytest.approx(0.35, rel=1e-12)
    model.critic.augment.p.fill_(0.7)
    assert model.ada.p == 0.7 and "p" not in model.ada.state_dict()
    assert AugmentPipe(p=0.5).to("meta").p.device.type == "meta"


def older_checkpoint(model: StyleGANADA, p: float) -> dict:
    """A checkpoint as versions before p was a buffer wrote it: p in the controller's state, not in the state_dict."""
    state_dict = {key: value for key, value in model.state_dict().items() if key != AUGMENT_P_KEY}
    return {"state_dict": state_dict, "hyper_parameters": dict(model.hparams), "pytorch-lightning_version": pl.__version__,
            "lightning_gans": {"d_step": 7, "g_step": 7, "round_critic_steps": 0, "images_seen": 112,
                               "nonfinite_skips": 0, "wall_time_s": 1.5, "rng": [{"torch": torch.get_rng_state()}],
                               "ada": {"p": p, "steps": 3, "sums": [1.0, 2.0, 0.0, -1.0, 48.0]}}}


def test_a_checkpoint_that_kept_p_in_the_controller_state_loads_p_into_the_buffer(tmp_path):
    path = tmp_path / "older.ckpt"
    torch.save(older_checkpoint(StyleGANADA(width=8), p=0.37), path)
    model = StyleGANADA.load_from_checkpoint(path, map_location="cpu", weights_only=True)  # evaluate's and generate's
    assert model.critic.augment.p.item() == 0.37 and model.ada.p == 0.37
    assert (model.ada.steps, model.ada.sums.tolist()) == (3, [1.0, 2.0, 0.0, -1.0, 48.0])
    assert model.progress.g_step == 7
    checkpoint = older_checkpoint(StyleGANADA(width=8), p=0.37)
    model.upgrade_checkpoint(checkpoint)  # what a check of the checkpoint's networks must see first
    assert checkpoint["state_dict"].keys() == model.state_dict().keys()


def test_a_run_resumes_from_a_checkpoint_that_kept_p_in_the_controller_state(fashion_root, tmp_path):
    overrides = small(fashion_root, "--model.max_g_steps", "4", "--model.augment_p", "0.5")
    fit(CONFIG, tmp_path, "older", *overrides)
    checkpoints = tmp_path / "stylegan_ada" / "older" / "checkpoints"
    checkpoint = torch.load(checkpoints / "last.ckpt", weights_only=True)
    checkpoint["lightning_gans"]["ada"]["p"] = checkpoint["state_dict"].pop(AUGMENT_P_KEY).item()
    torch.save(checkpoint, checkpoints / "older.ckpt")
    fit(CONFIG, tmp_path, "ignored", *small(fashion_root, "--model.max_g_steps", "6", "--model.augment_p", "0.5"),
        "--ckpt_path", str(checkpoints / "older.ckpt"))
    assert torch.load(checkpoints / "last.ckpt", weights_only=True)["lightning_gans"]["g_step"] == 6
