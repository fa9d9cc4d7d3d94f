"""Images per second of SN-GAN (standard CNN, batch 64, 32x32x1, CPU) through the LightningModule, against the
same networks, losses and EMA in a plain PyTorch loop in the same process. Reports both and their ratio.

    .venv/bin/python benchmarks/throughput.py [--steps 30] [--precision 32-true|bf16-mixed]
    .venv/bin/python benchmarks/throughput.py --guard_overhead   # LightningModule with / without the divergence guard
    .venv/bin/python benchmarks/throughput.py --diagnostics_overhead   # with critic diagnostics every G step / never
"""

import argparse
import contextlib
import inspect
import time

import pytorch_lightning as pl
import torch

from lightning_gans import SNGAN
from lightning_gans.data import GANDataModule
from lightning_gans.techniques.base import GANTechnique


class RandomImages(GANDataModule):
    """Fashion-MNIST-shaped uint8 noise: the benchmark measures compute, not data."""

    data_shape = (1, 32, 32)

    def __init__(self, batch_size: int):
        super().__init__(batch_size=batch_size, seed=0, num_workers=0)

    def load_train_samples(self):
        return torch.randint(0, 256, (4096, *self.data_shape), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))


class StepTimer(pl.Callback):
    """Wall time of the training steps after `warmup` generator steps."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.images_at_start = warmup, None, 0

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.g_step == self.warmup and self.start is None:
            self.start, self.images_at_start = time.perf_counter(), pl_module.images_seen

    def images_per_second(self, pl_module):
        return (pl_module.images_seen - self.images_at_start) / (time.perf_counter() - self.start)


def lightning_images_per_second(batch_size, warmup, steps, precision, **model_options):
    pl.seed_everything(0, verbose=False)
    model = SNGAN(max_g_steps=warmup + steps, **model_options)
    timer = StepTimer(warmup)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=-1, precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[timer])
    trainer.fit(model, RandomImages(batch_size))
    return timer.images_per_second(model)


def plain_images_per_second(batch_size, warmup, steps, precision):
    """The same critic step, generator step and EMA update as `GANTechnique.training_step`, without Lightning."""
    pl.seed_everything(0, verbose=False)
    model = SNGAN()  # only for its networks, loss and EMA: no Trainer involved
    G, D, loss = model.generator, model.critic, model.adversarial
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.9))
    data = RandomImages(batch_size).train_samples
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    start = None
    for step in range(warmup + steps):
        if step == warmup:
            start = time.perf_counter()
        real = data[torch.randint(0, len(data), (batch_size,))].float() / 127.5 - 1
        with autocast:
            with torch.no_grad():
                fake = G(torch.randn(batch_size, 128))
            d_loss = loss.discriminator(D(real), D(fake))
        opt_d.zero_grad(set_to_none=True)
        d_loss.backward()
        opt_d.step()
        D.requires_grad_(False)
        with autocast:
            g_loss = loss.generator(D(G(torch.randn(batch_size, 128))))
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        model.update_ema()
    return steps * batch_size / (time.perf_counter() - start)


def mean_images_per_second_interleaved(args, variants):
    """{name: mean img/s} of the LightningModule under each variant (a context manager factory), alternated over
    `args.rounds` rounds so that warm-up and machine noise fall on every variant."""
    results = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (variant, model_options) in variants.items():
            with variant():
                results[name].append(lightning_images_per_second(args.batch_size, args.warmup, args.steps,
                                                                 args.precision, **model_options))
    return {name: sum(values) / len(values) for name, values in results.items()}


@contextlib.contextmanager
def guard_off():
    all_finite = GANTechnique.all_finite
    GANTechnique.all_finite = lambda self, terms, phase: True  # no check, no sync
    try:
        yield
    finally:
        GANTechnique.all_finite = all_finite


def report_overhead(args, what, variants):
    (with_name, with_value), (without_name, without_value) = mean_images_per_second_interleaved(args, variants).items()
    print(f"SN-GAN CNN, batch {args.batch_size}, {args.precision}, {args.steps} G steps, {args.rounds} interleaved rounds: "
          f"{what}")
    print(f"{with_name:<28}: mean {with_value:7.1f} img/s")
    print(f"{without_name:<28}: mean {without_value:7.1f} img/s")
    print(f"ratio: {with_value / without_value:.3f}")
    return with_value / without_value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--precision", default="32-true", choices=["32-true", "bf16-mixed"])
    parser.add_argument("--rounds", type=int, default=2, help="alternate the two loops this many times")
    parser.add_argument("--guard_overhead", action="store_true",
                        help="compare the LightningModule with and without its divergence guard instead")
    parser.add_argument("--diagnostics_overhead", action="store_true",
                        help="compare the LightningModule with critic diagnostics every G step and never instead")
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
    plain, lightning = [], []
    for _ in range(args.rounds):  # interleaved, so warm-up and machine noise fall on both sides
        plain.append(plain_images_per_second(args.batch_size, args.warmup, args.steps, args.precision))
        lightning.append(lightning_images_per_second(args.batch_size, args.warmup, args.steps, args.precision))
    print(f"SN-GAN CNN, batch {args.batch_size}, 32x32x1, {args.precision}, {torch.get_num_threads()} threads, "
          f"{args.steps} G steps after {args.warmup} warm-up, {args.rounds} interleaved rounds")
    print(f"plain PyTorch loop : {' '.join(f'{v:7.1f}' for v in plain)}  mean {sum(plain) / len(plain):7.1f} img/s")
    print(f"LightningModule    : {' '.join(f'{v:7.1f}' for v in lightning)}  mean {sum(lightning) / len(lightning):7.1f} img/s")
    print(f"ratio Lightning / plain: {sum(lightning) / sum(plain):.3f}")

if __name__ == "__main__":
    main()
