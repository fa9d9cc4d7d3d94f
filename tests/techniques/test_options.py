"""The paper options each do what they say inside a training run: CT-GAN, one-sided GP, R2 and lazy R1 (folded, or
StyleGAN2's separate phase with Adam's correction), weight clipping and WGAN's critic schedule, EMA in kimg
(warm-up, BatchNorm statistics), the generator's batch multiple, the kimg budget, label smoothing, TTUR and the
learning-rate schedule."""

import csv

import pytest
import pytorch_lightning as pl
import torch
from conftest import one_line_config_error

from lightning_gans import R1GAN, SNGAN, WGAN, WGANGP, StyleGANADA, Toy2DDataModule
from lightning_gans.techniques.optimizers import lr_factor
from lightning_gans.training.ema import ema_beta


def train(model, ckpt_path=None, **trainer_kwargs):
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(**{"accelerator": "cpu", "devices": 1, "max_epochs": -1, "logger": False,
                            "enable_checkpointing": False, "enable_progress_bar": False,
                            "enable_model_summary": False, **trainer_kwargs})
    trainer.fit(model, Toy2DDataModule("ring8", num_samples=4096, batch_size=64), ckpt_path=ckpt_path)
    return model


TOY = {"data_shape": (2,), "architecture": "mlp", "latent_dim": 2, "width": 32}


def logged_rows(tmp_path, model):
    logger = pl.loggers.CSVLogger(tmp_path, name="", version="")
    train(model, logger=logger, log_every_n_steps=1)
    with open(tmp_path / "metrics.csv") as f:
        return list(csv.DictReader(f))


def test_consistency_term_and_one_sided_gp_are_logged_and_trained(tmp_path):
    model = WGANGP(**TOY, consistency_weight=2.0, critic_dropout=0.5, one_sided=True, n_critic=2, max_g_steps=5)
    rows = logged_rows(tmp_path, model)
    ct = [float(r["penalty/ct"]) for r in rows if r.get("penalty/ct")]
    gp = [float(r["penalty/gp"]) for r in rows if r.get("penalty/gp")]
    assert len(ct) == len(gp) == 5 and max(ct) > 0  # one row per generator step


def test_lazy_r1_and_r2_run_every_interval_steps(tmp_path):
    model = R1GAN(**TOY, r2_gamma=5.0, regularization_interval=4, max_g_steps=12)
    rows = logged_rows(tmp_path, model)
    steps_with_r1 = [int(r["step"]) for r in rows if r.get("penalty/r1")]
    steps_with_r2 = [int(r["step"]) for r in rows if r.get("penalty/r2")]
    # Applied at critic steps 0, 4 and 8, which precede generator steps 1, 5 and 9; absent, not stale, elsewhere.
    assert steps_with_r1 == steps_with_r2 == [1, 5, 9]
    assert [int(r["step"]) for r in rows if r.get("loss/d")] == list(range(1, 13))


def test_lazy_r1_joins_the_critic_loss_of_every_kth_step_and_adam_is_not_corrected():
    """No separate regularisation step: loss/d = adversarial + k * gamma/2 * R1 at d_step 0, the adversarial loss
    alone at d_step 1; the critic's Adam keeps lr_d and betas (no StyleGAN2 k/(k+1) correction)."""
    model = R1GAN(**TOY, r1_gamma=10.0, regularization_interval=4, lr_d=1e-3, betas=(0.0, 0.99))
    _, opt_d = model.configure_optimizers()
    assert opt_d.defaults["lr"] == 1e-3 and opt_d.defaults["betas"] == (0.0, 0.99)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    adversarial = model.adversarial.discriminator(model.critic(real), model.critic(fake))
    terms = model.critic_loss(real, fake)
    torch.testing.assert_close(terms["loss/d"], adversarial + 4 * 10.0 / 2 * terms["penalty/r1"])
    model.progress.d_step = 1
    assert torch.equal(model.critic_loss(real, fake)["loss/d"], adversarial)


def largest_critic_weight_at_each_critic_loss(model):
    """Train `model` and return max |critic parameter| at the start of every critic step's loss."""
    seen, critic_loss = [], model.critic_loss

    def recording(real, fake):
        seen.append(max(p.abs().max().item() for p in model.critic.parameters()))
        return critic_loss(real, fake)

    model.critic_loss = recording
    train(model)
    return seen


def test_weight_clipping_before_each_critic_step_bounds_every_parameter_the_critic_step_sees():
    model = WGAN(**TOY, clip_value=0.02, lr_d=1e-2, critic_burst=False, max_g_steps=3)
    seen = largest_critic_weight_at_each_critic_loss(model)
    assert len(seen) == 15 and max(seen) == pytest.approx(0.02)


def test_weight_clipping_after_each_update_bounds_every_critic_parameter_after_training():
    model = train(WGAN(**TOY, clip_value=0.02, lr_d=1e-2, clip_before_critic_step=False, critic_burst=False,
                       max_g_steps=3))
    largest = max(p.abs().max().item() for p in model.critic.parameters())
    assert largest == pytest.approx(0.02)


def test_wgan_critic_schedule_runs_100_critic_steps_before_the_first_25_and_every_500th_generator_step():
    burst, plain = WGAN(**TOY), WGAN(**TOY, critic_burst=False)
    counts = [burst.n_critic_at(g) for g in range(1001)]
    assert counts[:25] == [100] * 25 and counts[500] == counts[1000] == 100
    assert [g for g, n in enumerate(counts) if n == 100] == [*range(25), 500, 1000]
    assert set(counts[25:500]) == {5} and {plain.n_critic_at(g) for g in range(1001)} == {5}


def test_the_loop_runs_the_critic_steps_the_schedule_asks_before_each_generator_step():
    """The images of a generator step's round reach the EMA update; resuming mid-round is covered by test_faults."""
    model = SNGAN(**TOY, max_g_steps=3)
    model.n_critic_at = lambda g_step: [3, 1, 2][g_step]
    rounds, update_ema = [], model.update_ema
    model.update_ema = lambda images: (rounds.append((model.progress.d_step, images)), update_ema(images))
    train(model)
    assert rounds == [(3, 3 * 64), (4, 64), (6, 2 * 64)] and model.progress.g_step == 3


def test_generator_batch_multiple_draws_that_many_times_the_batch_for_the_generator_step_only():
    model = SNGAN(**TOY, g_batch_multiple=2, max_g_steps=2)
    sizes = []
    model.generator.register_forward_hook(lambda module, inputs, output: sizes.append(len(inputs[0])))
    train(model)
    assert sizes == [64, 128, 64, 128]  # critic step's fakes, then the generator step's, per G step


def test_separate_lazy_r1_is_its_own_critic_step_every_kth_step_with_adam_corrected():
    """StyleGAN2's Dmain / Dreg: loss/d holds no penalty; every k-th critic step a second D update minimises
    k * gamma/2 * R1 alone; D's Adam runs at lr * k/(k+1), betas ** (k/(k+1))."""
    model = R1GAN(**TOY, r1_gamma=10.0, regularization_interval=4, lazy_regularization="separate", lr_d=1e-3,
                  betas=(0.0, 0.99))
    opt_g, opt_d = model.configure_optimizers()
    assert opt_d.defaults["lr"] == pytest.approx(1e-3 * 4 / 5)
    assert opt_d.defaults["betas"] == pytest.approx((0.0, 0.99 ** (4 / 5)))
    assert opt_g.defaults["lr"] == 1e-4 and opt_g.defaults["betas"] == (0.0, 0.99)
    real, fake = torch.randn(8, 2), torch.randn(8, 2)
    adversarial = model.adversarial.discriminator(model.critic(real), model.critic(fake))
    assert torch.equal(model.critic_loss(real, fake)["loss/d"], adversarial)
    regularization = model.critic_regularization(real, fake)
    torch.testing.assert_close(regularization["loss/d_reg"], 4 * 10.0 / 2 * regularization["penalty/r1"])
    model.progress.d_step = 1
    assert model.critic_regularization(real, fake) is None


def test_separate_lazy_r1_updates_the_critic_twice_on_due_steps(tmp_path):
    model = R1GAN(**TOY, regularization_interval=4, lazy_regularization="separate", max_g_steps=8)
    steps = []
    model.configure_optimizers = lambda configure=model.configure_optimizers: count_steps(configure(), steps)
    rows = logged_rows(tmp_path, model)
    assert steps.count("d") == 8 + 2 and steps.count("g") == 8  # D regularised at critic steps 0 and 4
    assert [int(r["step"]) for r in rows if r.get("loss/d_reg")] == [1, 5]


def count_steps(optimizers, steps):
    for name, optimizer in zip("gd", optimizers):
        optimizer.register_step_post_hook(lambda *args, name=name: steps.append(name))
    return optimizers


def test_stylegan_ada_corrects_adam_as_the_reference_training_loop():
    """ADA's cifar preset: lr 0.0025 and betas (0, 0.99) train G with interval 4 and D with 16 (stylegan2-ada-pytorch
    training_loop.py: lr * k/(k+1), betas ** (k/(k+1)))."""
    opt_g, opt_d = StyleGANADA(width=8).configure_optimizers()
    assert opt_g.defaults["lr"] == pytest.approx(0.002) and opt_d.defaults["lr"] == pytest.approx(0.0025 * 16 / 17)
    assert opt_g.defaults["betas"][1] == pytest.approx(0.99 ** 0.8)
    assert opt_d.defaults["betas"][1] == pytest.approx(0.99 ** (16 / 17))
    folded_g, folded_d = StyleGANADA(width=8, lazy_regularization="folded", g_reg_interval=None).configure_optimizers()
    assert folded_g.defaults["lr"] == folded_d.defaults["lr"] == 0.0025


def test_ema_without_rampup_halves_the_weight_of_the_past_every_ema_kimg():
    model = SNGAN(**TOY, ema_kimg=0.1, ema_rampup=None)  # a half-life of 100 images
    model.progress.images_seen = 10**6
    before = [p.clone() for p in model.generator_ema.parameters()]
    with torch.no_grad():
        for p in model.generator.parameters():
            p.add_(1.0)
    model.update_ema(100)
    for ema, old, new in zip(model.generator_ema.parameters(), before, model.generator.parameters()):
        torch.testing.assert_close(ema, 0.5 * old + 0.5 * new)


def test_ema_warm_up_copies_g_first_then_keeps_a_half_life_of_rampup_times_the_images_so_far():
    model = SNGAN(**TOY, ema_kimg=20, ema_rampup=0.5)
    ema = []
    for step, value in enumerate([1.0, 2.0, 3.0]):  # G's weights at generator steps 1, 2, 3
        with torch.no_grad():
            for p in model.generator.parameters():
                p.fill_(value)
        model.progress.images_seen = 64 * (step + 1)
        model.update_ema(64)
        ema.append(next(model.generator_ema.parameters()).flatten()[0].item())
    # beta = 0.5 ** (64 / (0.5 * 64 t)), t the G steps before: 0 at t = 0 (the random init is gone), 0.25 at t = 1,
    # 0.5 at t = 2.
    first = 1.0
    second = 0.25 * first + 0.75 * 2.0
    assert ema == pytest.approx([first, second, 0.5 * second + 0.5 * 3.0])


def test_ema_half_life_in_kimg_is_the_same_at_any_batch_size_and_n_critic():
    """StyleGAN2-ADA's rule: beta = 0.5 ** (images / (ema_kimg * 1000)); after ema_kimg thousand images the past
    weighs 1/2 whether they came 64 or 320 (n_critic 5) per G step; ramp-up caps the half-life at 5% of the images
    seen; ADA's cifar preset (500 kimg, batch 64) gives beta 0.99991."""
    for images_per_g_step in (64, 320, 1280):
        beta = ema_beta(images_per_g_step, 10**9, 20, 0.05)
        assert beta ** (20_000 / images_per_g_step) == pytest.approx(0.5)
    assert ema_beta(64, 0, 20, 0.05) == 0.0
    assert ema_beta(64, 6400, 20, 0.05) == pytest.approx(0.5 ** (64 / 320))
    assert ema_beta(64, 6400, 20, None) == pytest.approx(0.5 ** (64 / 20_000))
    assert round(ema_beta(64, 10**9, 500, 0.05), 5) == 0.99991


def test_ema_generator_averages_batchnorm_statistics_with_its_weights():
    model = SNGAN(data_shape=(1, 8, 8), architecture="cnn", width=2, latent_dim=4, ema_rampup=0.5)
    norms = [m for m in model.generator.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    ema_norms = [m for m in model.generator_ema.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    statistics = []
    for step in range(2):
        with torch.no_grad():
            model.generator(torch.randn(16, 4) * (step + 2))  # train mode: new running statistics
        statistics.append([(norm.running_mean.clone(), norm.running_var.clone()) for norm in norms])
        model.progress.images_seen = 16 * (step + 1)
        model.update_ema(16)
    # beta = 0 at step 0 (a copy), 0.5 ** (16 / (0.5 * 16)) = 0.25 at step 1.
    for i, ema in enumerate(ema_norms):
        (mean_0, var_0), (mean_1, var_1) = statistics[0][i], statistics[1][i]
        torch.testing.assert_close(ema.running_mean, 0.25 * mean_0 + 0.75 * mean_1)
        torch.testing.assert_close(ema.running_var, 0.25 * var_0 + 0.75 * var_1)
        assert not torch.allclose(ema.running_mean, norms[i].running_mean)
        assert ema.num_batches_tracked == norms[i].num_batches_tracked == 2


def test_ema_copies_buffers_that_are_not_batchnorm_statistics():
    model = StyleGANADA(width=8)
    model.generator.mapping.w_avg.normal_()
    model.progress.images_seen = 10**6
    model.update_ema(64)
    torch.testing.assert_close(model.generator_ema.mapping.w_avg, model.generator.mapping.w_avg)


def test_kimg_budget_counts_real_images_shown_to_the_critic():
    model = train(WGANGP(**TOY, n_critic=5, max_kimg=0.64))  # 640 images at batch 64: 10 critic steps, 2 G steps
    assert (model.progress.images_seen, model.progress.d_step, model.progress.g_step) == (640, 10, 2)


def test_ttur_and_label_smoothing_reach_the_optimizers_and_the_loss():
    model = R1GAN(**TOY, lr_g=1e-4, lr_d=4e-4, label_smoothing=0.1, max_g_steps=1)
    train(model)
    opt_g, opt_d = model.trainer.optimizers
    assert (opt_g.param_groups[0]["lr"], opt_d.param_groups[0]["lr"]) == (1e-4, 4e-4)
    scores = torch.zeros(4)
    # With real target 0.9: 0.9 softplus(0) + 0.1 softplus(0) + softplus(0) = 2 log 2 whatever the smoothing, so
    # probe at D(x) = 2: 0.9 softplus(-2) + 0.1 softplus(2) + softplus(0).
    expected = 0.9 * torch.nn.functional.softplus(torch.tensor(-2.0)) + 0.1 * torch.nn.functional.softplus(
        torch.tensor(2.0)) + torch.log(torch.tensor(2.0))
    torch.testing.assert_close(model.adversarial.discriminator(scores + 2, scores), expected)


class LearningRates(pl.Callback):
    """{g_step: (lr of G, lr of D)} after each generator update, and a checkpoint at `save_at` G steps."""

    def __init__(self, save_at=None, path=None):
        self.seen, self.save_at, self.path = {}, save_at, path

    def on_train_batch_end(self, trainer, model, *args):
        self.seen[model.progress.g_step] = tuple(optimizer.param_groups[0]["lr"] for optimizer in trainer.optimizers)
        if model.progress.g_step == self.save_at and not self.path.exists():
            trainer.save_checkpoint(self.path)


def test_linear_schedule_decays_both_learning_rates_to_zero_over_the_g_step_budget():
    assert [lr_factor(g, "linear", 8) for g in (0, 2, 6, 8, 9)] == [1.0, 0.75, 0.25, 0.0, 0.0]
    assert lr_factor(6, "constant", 8) == 1.0
    rates = LearningRates()
    train(WGANGP(**TOY, n_critic=2, lr_g=1e-3, lr_d=4e-3, lr_schedule="linear", max_g_steps=8), callbacks=[rates])
    for g_step in range(9):  # the D steps before the (g_step + 1)-th G update use the same factor as it
        assert rates.seen[g_step] == pytest.approx((1e-3 * (1 - g_step / 8), 4e-3 * (1 - g_step / 8)))


def test_resumed_run_continues_the_learning_rate_schedule(tmp_path):
    checkpoint = tmp_path / "g3.ckpt"
    make = lambda: R1GAN(**TOY, lr_g=1e-3, lr_d=1e-3, lr_schedule="linear", max_g_steps=8)  # noqa: E731
    train(make(), callbacks=[LearningRates(save_at=3, path=checkpoint)])
    rates = LearningRates()
    train(make(), ckpt_path=checkpoint, callbacks=[rates])
    assert min(rates.seen) == 4  # the first update after the resume was the 4th
    for g_step in range(4, 9):
        assert rates.seen[g_step] == pytest.approx((1e-3 * (1 - g_step / 8),) * 2)


def test_a_learning_rate_decay_needs_a_g_step_budget():
    assert "model.lr_schedule" in one_line_config_error(lambda: R1GAN(**TOY, lr_schedule="linear", max_kimg=1.0))
    assert "model.lr_schedule" in one_line_config_error(lambda: R1GAN(**TOY, lr_schedule="cosine", max_g_steps=8))
