"""Images per second (real images shown to D) per technique, SN-GAN's CNN at 3x32x32, batch 64, CPU, in each
precision and memory format: our LightningModule (one critic forward over real and fake, penalty points in a
pass of their own, data on the device) and a plain PyTorch loop of the same nets and losses without Lightning, all
in the same process with the settings interleaved over rounds (the plain loop in the contiguous format only,
unless --plain_all_formats). Prints a table with the ratios Lightning / plain and each setting / 32-true contiguous;
`--separate` adds our LightningModule with one critic pass per batch as before issue 15 (ratio fused / separate).

    .venv/bin/python benchmarks/throughput.py [--techniques wgan wgan_gp sngan r1gan] [--precisions 32-true bf16-mixed]
        [--formats contiguous channels_last] [--g_steps 3] [--warmup 1] [--rounds 2] [--separate]
    .venv/bin/python benchmarks/throughput.py --guard_overhead   # SN-GAN with / without the divergence guard
    .venv/bin/python benchmarks/throughput.py --diagnostics_overhead   # with critic diagnostics every G step / never
    .venv/bin/python benchmarks/throughput.py --adam   # Adam's per-parameter loop, foreach and fused kernels
"""

import argparse
import contextlib
import inspect
import time
from dataclasses import dataclass
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


# Each G step the same work in fit as in the plain loop (n_critic critic steps, contiguous unless `options` say
# channels_last): WGAN without its reference code's bursts of 100 critic steps, which would also spend a short
# measurement's G steps on critic steps.
BUILD_DEFAULTS = {"data_shape": DATA_SHAPE, "architecture": "cnn", "channels_last": False}
TECHNIQUE_DEFAULTS = {"wgan": {"critic_burst": False}}


def build(technique: str, fused: bool, **options) -> GANTechnique:
    """The technique on SN-GAN's CNN unless `options` name another architecture; `fused=False` restores main's code
    path (one D pass per batch)."""
    pl.seed_everything(0, verbose=False)
    model = TECHNIQUES[technique](**{**BUILD_DEFAULTS, **TECHNIQUE_DEFAULTS.get(technique, {}), **options})
    model.fused_critic = fused
    if not fused and isinstance(model, R1GAN):
        model.critic_loss = main_r1_critic_loss.__get__(model)
    return model


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on `device`, so that a clock read next counts it (nothing to wait for on the CPU)."""
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


@dataclass
class Timing:
    """Images shown to D, critic steps (batches) and wall seconds of a timed window of training steps."""

    images: int
    batches: int
    seconds: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds


class StepTimer(pl.Callback):
    """Wall time of the training steps after `warmup` generator steps up to the end of training, the device's queue
    drained at both ends; `window` (a reusable context manager, e.g. a sync counter) is entered over those steps."""

    def __init__(self, warmup: int, window: contextlib.AbstractContextManager = contextlib.nullcontext()):
        self.warmup, self.window, self.start, self.timing = warmup, window, None, None

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.progress.g_step == self.warmup and self.start is None:
            synchronize(pl_module.device)
            self.images_at_start, self.batches_at_start = pl_module.progress.images_seen, pl_module.progress.d_step
            self.window.__enter__()
            self.start = time.perf_counter()

    def on_train_end(self, trainer, pl_module):
        synchronize(pl_module.device)
        seconds = time.perf_counter() - self.start
        self.window.__exit__(None, None, None)
        progress = pl_module.progress
        self.timing = Timing(progress.images_seen - self.images_at_start, progress.d_step - self.batches_at_start,
                             seconds)

    def images_per_second(self) -> float:
        return self.timing.images_per_second


def fit_timing(model, batch_size: int, warmup: int, precision: str, accelerator: str = "cpu",
               window: contextlib.AbstractContextManager = contextlib.nullcontext()) -> Timing:
    """The timed steps of `model` trained by a bare Lightning Trainer on random images, after `warmup` G steps."""
    timer = StepTimer(warmup, window)
    trainer = pl.Trainer(accelerator=accelerator, devices=1, max_epochs=-1, precision=precision, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         callbacks=[timer])
    trainer.fit(model, RandomImages(batch_size))
    return timer.timing


def fit_images_per_second(model, batch_size: int, warmup: int, precision: str) -> float:
    """img/s of `model` trained by a bare Lightning Trainer on the CPU (`fit_timing`)."""
    return fit_timing(model, batch_size, warmup, precision).images_per_second


def lightning_images_per_second(args, technique, precision, fused=True, **options):
    model = build(technique, fused, max_g_steps=args.warmup + args.g_steps, **options)
    return fit_images_per_second(model, args.batch_size, args.warmup, precision)


def plain_timing(model: GANTechnique, batch_size: int, warmup: int, g_steps: int, precision: str, device="cpu",
                 window: contextlib.AbstractContextManager = contextlib.nullcontext()) -> Timing:
    """`GANTechnique.training_step` without Lightning: the technique's own critic and generator losses, weight
    clipping and EMA, with plain optimisers and autocast, on `device` (data there too); the timed window as
    `StepTimer`'s. `model` is built with its options (memory format, compile, ...) and is moved to `device`. A
    technique with a regularisation step of D's own (StyleGAN2's Dreg, lazy R1) takes it as in training, and one
    that sums statistics over processes (ADA) sums them through an idle one-device Trainer, which returns them as
    they are."""
    device = torch.device(device)
    model.to(device)
    model.trainer = pl.Trainer(accelerator=device.type, devices=1, logger=False, enable_checkpointing=False,
                               enable_progress_bar=False, enable_model_summary=False)
    memory_format = torch.channels_last if model.channels_last else torch.contiguous_format
    G, D, n_critic, progress = model.generator, model.critic, model.n_critic, model.progress
    opt_g, opt_d = model.configure_optimizers()
    data = RandomImages(batch_size).train_samples.to(device)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision == "bf16-mixed")
    start = None
    for step in range(warmup + g_steps):
        if step == warmup:
            synchronize(device)
            images_at_start, batches_at_start = progress.images_seen, progress.d_step
            window.__enter__()
            start = time.perf_counter()
        for _ in range(n_critic):
            real = (data[torch.randint(0, len(data), (batch_size,), device=device)].float() / 127.5 - 1).contiguous(
                memory_format=memory_format)
            model.before_critic_step()
            with autocast:
                with torch.no_grad():
                    fake = G(model.sample_latents(batch_size))
                d_loss = model.critic_loss(real, fake)["loss/d"]
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
            with autocast:
                regularization = model.critic_regularization(real, fake)
            if regularization is not None:
                opt_d.zero_grad(set_to_none=True)
                regularization["loss/d_reg"].backward()
                opt_d.step()
            model.after_critic_step()
            progress.d_step += 1
            progress.images_seen += batch_size
        D.requires_grad_(False)
        with autocast:
            g_loss = model.generator_loss(G(model.sample_latents(batch_size)))["loss/g"]
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        D.requires_grad_(True)
        model.update_ema(n_critic * batch_size)
        progress.g_step += 1
    synchronize(device)
    seconds = time.perf_counter() - start
    window.__exit__(None, None, None)
    return Timing(progress.images_seen - images_at_start, progress.d_step - batches_at_start, seconds)


def plain_images_per_second(args, technique, precision, fused=True, channels_last=False):
    model = build(technique, fused, channels_last=channels_last)
    return plain_timing(model, args.batch_size, args.warmup, args.g_steps, precision).images_per_second


COLUMNS = {  # column: how one measurement is taken
    "Lightning separate": lambda args, technique, precision, channels_last: lightning_images_per_second(
        args, technique, precision, fused=False, channels_last=channels_last),
    "Lightning": lambda args, technique, precision, channels_last: lightning_images_per_second(
        args, technique, precision, channels_last=channels_last),
    "plain": lambda args, technique, precision, channels_last: plain_images_per_second(
        args, technique, precision, channels_last=channels_last),
}


def throughput_table(args):
    columns = {name: measure for name, measure in COLUMNS.items() if args.separate or name != "Lightning separate"}
    results = {}
    for _ in range(args.rounds):  # interleaved, so warm-up and machine noise fall on every setting
        for precision in args.precisions:
            for memory_format in args.formats:
                for technique in args.techniques:
                    for column, measure in columns.items():
                        if column == "plain" and memory_format != "contiguous" and not args.plain_all_formats:
                            continue
                        value = measure(args, technique, precision, memory_format == "channels_last")
                        results.setdefault((technique, precision, memory_format), {}).setdefault(column, []).append(value)
                        print(f"  {technique:8} {precision:10} {memory_format:13} {column:18} {value:7.1f} img/s",
                              flush=True)
    print(f"\n{'x'.join(map(str, DATA_SHAPE))}, batch {args.batch_size}, {torch.get_num_threads()} threads, "
          f"{args.g_steps} G steps after {args.warmup} warm-up, mean of {args.rounds} interleaved rounds (img/s)\n")
    ratios = (["fused / separate"] if args.separate else []) + ["Lightning / plain", "Lightning / 32-true contiguous"]
    print("| technique | precision | memory format | " + " | ".join(columns) + " | " + " | ".join(ratios) + " |")
    print("|" + " --- |" * (3 + len(columns) + len(ratios)))
    means = {key: {column: mean(values) for column, values in value.items()} for key, value in results.items()}
    for (technique, precision, memory_format), row in sorted(means.items()):
        baseline = means.get((technique, "32-true", "contiguous"), {}).get("Lightning", float("nan"))
        cells = [f"{row[column]:.1f}" if column in row else "-" for column in columns]
        if args.separate:
            cells.append(f"{row['Lightning'] / row['Lightning separate']:.2f}")
        cells += [f"{row['Lightning'] / row['plain']:.2f}" if "plain" in row else "-", f"{row['Lightning'] / baseline:.2f}"]
        print(f"| {technique} | {precision} | {memory_format} | " + " | ".join(cells) + " |")


# ------------------------------------------------------------------------------ overheads of the LightningModule
@contextlib.contextmanager
def guard_off():
    """Updates without the divergence guard's device-side check and masking (`training.divergence`)."""
    update = GANTechnique.update

    def unguarded(self, optimizer, terms, loss, phase):
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(terms[loss])
        optimizer.step()

    GANTechnique.update = unguarded
    try:
        yield
    finally:
        GANTechnique.update = update


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


def adam_step_seconds(args):
    """Seconds per Adam step over SN-GAN's G and D parameters: PyTorch's per-parameter loop (its CPU default),
    foreach and fused (what `GANTechnique.configure_optimizers` takes on CPU and CUDA), interleaved over rounds."""
    model = build("sngan", True)
    parameters = list(model.generator.parameters()) + list(model.critic.parameters())
    for parameter in parameters:
        parameter.grad = torch.randn_like(parameter)
    kernels = {"loop": {"foreach": False}, "foreach": {"foreach": True}, "fused": {"fused": True}}
    results = {name: [] for name in kernels}
    for _ in range(args.rounds):
        for name, kernel in kernels.items():
            optimizer = torch.optim.Adam(parameters, lr=1e-4, betas=(0.0, 0.9), **kernel)
            optimizer.step()  # allocates the state
            start = time.perf_counter()
            for _ in range(5):
                optimizer.step()
            results[name].append((time.perf_counter() - start) / 5)
    print(f"Adam step over SN-GAN CNN's G and D ({sum(p.numel() for p in parameters) / 1e6:.1f} M parameters), "
          f"{torch.get_num_threads()} threads, mean of {args.rounds} interleaved rounds of 5 steps")
    for name, values in results.items():
        print(f"{name:8}: {mean(values) * 1000:6.1f} ms   loop / {name}: {mean(results['loop']) / mean(values):.2f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--techniques", nargs="+", default=["wgan", "wgan_gp", "sngan", "r1gan"])
    parser.add_argument("--precisions", nargs="+", default=["32-true", "bf16-mixed"])
    parser.add_argument("--formats", nargs="+", default=["contiguous", "channels_last"],
                        choices=["contiguous", "channels_last"], help="memory formats (model.channels_last)")
    parser.add_argument("--plain_all_formats", action="store_true",
                        help="measure the plain loop in every memory format (default: contiguous only)")
    parser.add_argument("--separate", action="store_true",
                        help="also measure one critic pass per batch (main's code path before issue 15)")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=1, help="generator steps before the clock starts")
    parser.add_argument("--g_steps", type=int, default=3, help="timed generator steps (n_critic critic steps each)")
    parser.add_argument("--rounds", type=int, default=2, help="alternate all settings this many times")
    parser.add_argument("--guard_overhead", action="store_true",
                        help="compare SN-GAN's LightningModule with and without its divergence guard instead")
    parser.add_argument("--diagnostics_overhead", action="store_true",
                        help="compare SN-GAN's LightningModule with critic diagnostics every G step and never instead")
    parser.add_argument("--adam", action="store_true", help="time Adam's loop, foreach and fused kernels instead")
    args = parser.parse_args()
    if args.adam:
        return adam_step_seconds(args)
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
