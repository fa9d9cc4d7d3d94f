"""Images per second (real images shown to D) per technique, SN-GAN's CNN at 3x32x32, batch 64, CPU: our
LightningModule with one critic forward per step (fused) and with one per batch as before issue 15 (separate), and a
plain PyTorch loop of the same nets and losses without Lightning (fused), all in the same process with the settings
interleaved over rounds. Prints a table with the ratios fused / separate and Lightning / plain.

    .venv/bin/python benchmarks/throughput.py [--techniques wgan wgan_gp sngan r1gan] [--precisions 32-true bf16-mixed]
        [--g_steps 3] [--warmup 1] [--rounds 2]
    .venv/bin/python benchmarks/throughput.py --guard_overhead   # SN-GAN with / without the divergence guard
    .venv/bin/python benchmarks/throughput.py --diagnostics_overhead   # with critic diagnostics every G step / never
"""

import argparse
import contextlib
import inspect
import time
from statistics import mean

import pytorch_lightning as pl
import torch

from lightning_gans.data import GANDataModule
from lightning_gans.objectives.penalties import r1_penalty, r2_penalty
from lightning_gans.techniques import TECHNIQUES
from lightning_gans.techniques.base import GANTechnique
from lightning_gans.techniques.r1gan import R1GAN

DATA_SHAPE = (3, 32, 32)


class RandomImages(GANDataModule):
    """CIFAR-shaped uint8 noise: the benchmark measures compute, not data."""

    data_shape = DATA_SHAPE

    def __init__(self, batch_size: int):
        super().__init__(batch_size=batch_size, seed=0, num_workers=0)

    def load_train_samples(self):
        return torch.randint(0, 256, (4096, *self.data_shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


def main_r1_critic_loss(self, real, fake):
    """R1GAN.critic_loss as on main before issue 15: R1 and R2 run D again on their points."""
    terms = GANTechnique.critic_loss(self, real, fake)
    hp = self.hparams
    if self.d_step % hp.regularization_interval:
        return terms
    for key, gamma, penalty, points in (("penalty/r1", hp.r1_gamma, r1_penalty, real),
                                        ("penalty/r2", hp.r2_gamma, r2_penalty, fake)):
        if gamma > 0:
            terms[key] = penalty(self.critic, points)
            terms["loss/d"] = terms["loss/d"] + gamma / 2 * hp.regularization_interval * terms[key]
    return terms


def build(technique: str, fused: bool, **options) -> GANTechnique:
    """The technique on SN-GAN's CNN; `fused=False` restores main's code path (one D pass per batch)."""
    pl.seed_everything(0, verbose=False)
    model = TECHNIQUES[technique](data_shape=DATA_SHAPE, architecture="cnn", **options)
    model.fused_critic = fused
    if not fused and isinstance(model, R1GAN):
        model.critic_loss = main_r1_critic_loss.__get__(model)
    return model


class StepTimer(pl.Callback):
    """Wall time of the training steps after `warmup` generator steps."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.images_at_start = warmup, None, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.g_step == self.warmup and self.start is None:
            self.start, self.images_at_start = time.perf_counter(), pl_module.images_seen

    def images_per_second(self, pl_module):
        return (pl_module.images_seen - self.images_at_start) / (time.perf_counter() - self.start)


def lightning_images_per_second(args, technique, precision, fused=True, **options):
    model = build(technique, fused, max_g_steps=args.warmup + args.g_steps, **options)
    timer = StepTimer(args.warmup)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=-1, precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[timer])
    trainer.fit(model, RandomImages(args.batch_size))
    return timer.images_per_second(model)


def plain_images_per_second(args, technique, precision, fused=True):
    """`GANTechnique.training_step` without Lightning: the technique's own critic and generator losses, weight
    clipping and EMA, with plain optimisers and autocast."""
    model = build(technique, fused)
    G, D, n_critic = model.generator, model.critic, model.hparams.n_critic
    opt_g, opt_d = model.configure_optimizers()
    data = RandomImages(args.batch_size).train_samples
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    start = None
    for step in range(args.warmup + args.g_steps):
        if step == args.warmup:
            start = time.perf_counter()
        for _ in range(n_critic):
            real = data[torch.randint(0, len(data), (args.batch_size,))].float() / 127.5 - 1
            with autocast:
                with torch.no_grad():
                    fake = G(model.sample_latents(args.batch_size))
                d_loss = model.critic_loss(real, fake)["loss/d"]
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            model.after_critic_step()
            model.d_step += 1
        D.requires_grad_(False)
        with autocast:
            g_loss = model.generator_loss(G(model.sample_latents(args.batch_size)))["loss/g"]
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        model.update_ema()
    return args.g_steps * n_critic * args.batch_size / (time.perf_counter() - start)


SETTINGS = {  # column: how one measurement is taken
    "Lightning separate": lambda args, technique, precision: lightning_images_per_second(args, technique, precision,
                                                                                         fused=False),
    "Lightning fused": lambda args, technique, precision: lightning_images_per_second(args, technique, precision),
    "plain fused": lambda args, technique, precision: plain_images_per_second(args, technique, precision),
}


def throughput_table(args):
    results = {}
    for _ in range(args.rounds):  # interleaved, so warm-up and machine noise fall on every setting
        for precision in args.precisions:
            for technique in args.techniques:
                for column, measure in SETTINGS.items():
                    value = measure(args, technique, precision)
                    results.setdefault((technique, precision), {}).setdefault(column, []).append(value)
                    print(f"  {technique:8} {precision:10} {column:18} {value:7.1f} img/s", flush=True)
    print(f"\n{'x'.join(map(str, DATA_SHAPE))}, batch {args.batch_size}, {torch.get_num_threads()} threads, "
          f"{args.g_steps} G steps after {args.warmup} warm-up, mean of {args.rounds} interleaved rounds (img/s)\n")
    print("| technique | precision | " + " | ".join(SETTINGS) + " | fused / separate | Lightning / plain |")
    print("|" + " --- |" * (len(SETTINGS) + 4))
    for (technique, precision), columns in results.items():
        means = {column: mean(values) for column, values in columns.items()}
        print(f"| {technique} | {precision} | " + " | ".join(f"{value:.1f}" for value in means.values())
              + f" | {means['Lightning fused'] / means['Lightning separate']:.2f}"
              + f" | {means['Lightning fused'] / means['plain fused']:.2f} |")


# ------------------------------------------------------------------------------ overheads of the LightningModule
@contextlib.contextmanager
def guard_off():
    all_finite = GANTechnique.all_finite
    GANTechnique.all_finite = lambda self, terms, phase: True  # no check, no sync
    try:
        yield
    finally:
        GANTechnique.all_finite = all_finite


def report_overhead(args, what, variants):
    """Mean img/s of SN-GAN's LightningModule under each variant (context manager, model options), interleaved."""
    results = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (variant, model_options) in variants.items():
            with variant():
                results[name].append(lightning_images_per_second(args, "sngan", args.precisions[0], **model_options))
    (with_name, with_value), (without_name, without_value) = ((k, mean(v)) for k, v in results.items())
    print(f"SN-GAN CNN, batch {args.batch_size}, {args.precisions[0]}, {args.g_steps} G steps, {args.rounds} "
          f"interleaved rounds: {what}")
    print(f"{with_name:<28}: mean {with_value:7.1f} img/s")
    print(f"{without_name:<28}: mean {without_value:7.1f} img/s")
    print(f"ratio: {with_value / without_value:.3f}")
    return with_value / without_value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--techniques", nargs="+", default=["wgan", "wgan_gp", "sngan", "r1gan"])
    parser.add_argument("--precisions", nargs="+", default=["32-true", "bf16-mixed"])
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1, help="generator steps before the clock starts")
    parser.add_argument("--g_steps", type=int, default=3, help="timed generator steps (n_critic critic steps each)")
    parser.add_argument("--rounds", type=int, default=2, help="alternate all settings this many times")
    parser.add_argument("--guard_overhead", action="store_true",
                        help="compare SN-GAN's LightningModule with and without its divergence guard instead")
    parser.add_argument("--diagnostics_overhead", action="store_true",
                        help="compare SN-GAN's LightningModule with critic diagnostics every G step and never instead")
    args = parser.parse_args()
    if args.guard_overhead:
        return report_overhead(args, "divergence guard", {
            "with divergence guard": (contextlib.nullcontext, {}), "without divergence guard": (guard_off, {})})
    if args.diagnostics_overhead:
        ratio = report_overhead(args, "critic diagnostics (grad norms, sigma_max per layer)", {
            "diagnostics every G step": (contextlib.nullcontext, {"diagnostics_every": 1}),
            "diagnostics never": (contextlib.nullcontext, {"diagnostics_every": 10**9})})
        every = inspect.signature(GANTechnique).parameters["diagnostics_every"].default
        print(f"implied slowdown at the default diagnostics_every={every}: {(1 / ratio - 1) / every:.2%}")
        return
    throughput_table(args)


if __name__ == "__main__":
    main()
