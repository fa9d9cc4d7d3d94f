"""Gradient penalties under bf16 autocast, three ways: the penalty's critic pass in bf16 with the backward under
autocast (before issue 12: Lightning runs `manual_backward` inside training_step's autocast), the critic pass in
float32 (`penalties._input_gradients`) with the backward under autocast, and both in float32
(`GANTechnique.backward`); each against the same penalty without autocast.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/penalty_precision.py [--part accuracy|speed|both] [--steps 10]

1. Accuracy, on the CNN critic (`--width`) at initialisation and after `--critic_steps` float32 WGAN-GP critic
   steps against a generator at initialisation, with Fashion-MNIST reals and that generator's fakes, batches of 64:
   relative errors of the GP and R1 values, of the per-sample input gradients (||g - g_fp32|| / ||g_fp32||, mean
   over samples) and of the penalties' gradients w.r.t. the critic's parameters.
2. Speed: img/s of WGAN-GP training steps (CNN, `--width`, `--batch_size`, random images) under bf16-mixed each
   way, and under 32-true, alternated over `--rounds` rounds.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout, for `benchmarks.throughput`

import argparse
import contextlib

import pytorch_lightning as pl
import torch

from benchmarks.throughput import DATA_SHAPE, fit_images_per_second
from lightning_gans import WGANGP
from lightning_gans.data import load_images, to_float
from lightning_gans.nets import build_networks
from lightning_gans.objectives import penalties
from lightning_gans.techniques.base import GANTechnique


def bf16_input_gradients(critic, x, create_graph):
    """`_input_gradients` before issue 12: the critic pass under the caller's autocast, the sum in float32."""
    x = x.detach().requires_grad_(True)
    (gradients,) = torch.autograd.grad(critic(x).float().sum(), x, create_graph=create_graph)
    return gradients.flatten(1).float()


@contextlib.contextmanager
def bf16_critic_pass():
    fp32 = penalties._input_gradients
    penalties._input_gradients = bf16_input_gradients
    try:
        yield
    finally:
        penalties._input_gradients = fp32


def train_critic(critic, generator, images, steps):
    """`steps` WGAN-GP critic updates in float32 (lambda 10, Adam 1e-4 betas (0, 0.9)) against the fixed `generator`,
    so that the input-gradient norms reach the range the penalty holds them in."""
    optimizer = torch.optim.Adam(critic.parameters(), lr=1e-4, betas=(0.0, 0.9))
    for step in range(steps):
        real = to_float(images[torch.randint(len(images), (64,))])
        with torch.no_grad():
            fake = generator(torch.randn(64, 128))
        loss = critic(fake).mean() - critic(real).mean() + 10 * penalties.gradient_penalty(critic, real, fake)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def penalty_and_parameter_gradient(critic, penalty, autocast_backward=False):
    """The penalty under bf16 autocast, and its gradient w.r.t. the critic's parameters with the backward under
    autocast too (as `manual_backward` inside a Lightning training_step) or outside it; flattened."""
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=autocast_backward is not None):
        value = penalty()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bool(autocast_backward)):
        gradient = torch.autograd.grad(value, list(critic.parameters()), allow_unused=True)  # D's last bias: none
    return value.detach(), torch.cat([g.flatten() for g in gradient if g is not None])


def relative_error(value, reference):
    return float((value - reference).norm() / reference.norm())


# name: (critic pass, backward under autocast)
VARIANTS = {"bf16 pass, backward under autocast": (bf16_critic_pass, True),
            "fp32 pass, backward under autocast": (contextlib.nullcontext, True),
            "fp32 pass, backward outside autocast": (contextlib.nullcontext, False)}


def accuracy(width, batches, critic_steps):
    torch.manual_seed(0)
    generator, critic = build_networks("cnn", (1, 32, 32), 128, width=width)
    images = load_images("fashion_mnist", None, True, 32)
    train_critic(critic, generator, images, critic_steps)
    rows = {name: {"gp": [], "r1": [], "grad": [], "gp_theta": [], "r1_theta": []} for name in VARIANTS}
    norms = []
    for batch in range(batches):
        real = to_float(images[batch * 64:(batch + 1) * 64])
        with torch.no_grad():
            fake = generator(torch.randn(64, 128))

        def gp():
            torch.manual_seed(batch)  # the same interpolates in every variant
            return penalties.gradient_penalty(critic, real, fake)

        def r1():
            return penalties.r1_penalty(critic, real)

        gp_fp32, gp_theta_fp32 = penalty_and_parameter_gradient(critic, gp, autocast_backward=None)
        r1_fp32, r1_theta_fp32 = penalty_and_parameter_gradient(critic, r1, autocast_backward=None)
        torch.manual_seed(batch)
        points = penalties.random_interpolates(real, fake)
        reference = penalties._input_gradients(critic, points, create_graph=False)
        norms.extend(reference.norm(dim=1).tolist())
        for name, (critic_pass, autocast_backward) in VARIANTS.items():
            with critic_pass():
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    gradients = penalties._input_gradients(critic, points, create_graph=False)
                gp_value, gp_theta = penalty_and_parameter_gradient(critic, gp, autocast_backward)
                r1_value, r1_theta = penalty_and_parameter_gradient(critic, r1, autocast_backward)
            rows[name]["gp"].append(abs(float(gp_value / gp_fp32) - 1))
            rows[name]["r1"].append(abs(float(r1_value / r1_fp32) - 1))
            rows[name]["grad"].extend(((gradients - reference).norm(dim=1) / reference.norm(dim=1)).tolist())
            rows[name]["gp_theta"].append(relative_error(gp_theta, gp_theta_fp32))
            rows[name]["r1_theta"].append(relative_error(r1_theta, r1_theta_fp32))
    print(f"CNN critic width {width} after {critic_steps} float32 WGAN-GP critic steps, {batches} batches of 64 "
          f"(mean ||grad D|| at the interpolates {sum(norms) / len(norms):.3f}); relative errors vs float32, mean "
          f"over batches (input gradient: over samples):")
    print("| variant | GP value | R1 value | input gradient | d GP / d theta | d R1 / d theta |")
    print("|---|---|---|---|---|---|")
    for name, values in rows.items():
        mean = {key: sum(v) / len(v) for key, v in values.items()}
        print(f"| {name} | {mean['gp']:.1e} | {mean['r1']:.1e} | {mean['grad']:.1e} | {mean['gp_theta']:.1e} | "
              f"{mean['r1_theta']:.1e} |")


def images_per_second(args, precision):
    pl.seed_everything(0, verbose=False)
    model = WGANGP(data_shape=DATA_SHAPE, width=args.width, max_g_steps=args.warmup + args.steps)
    return fit_images_per_second(model, args.batch_size, args.warmup, precision)


@contextlib.contextmanager
def backward_under_autocast():
    """`GANTechnique.backward` before issue 12: Lightning's, inside training_step's autocast."""
    ours = GANTechnique.backward
    GANTechnique.backward = pl.LightningModule.backward
    try:
        yield
    finally:
        GANTechnique.backward = ours


def speed(args):
    variants = {f"bf16-mixed, {name}": (critic_pass, autocast_backward, "bf16-mixed")
                for name, (critic_pass, autocast_backward) in VARIANTS.items()}
    variants["32-true"] = (contextlib.nullcontext, False, "32-true")
    results = {name: [] for name in variants}
    for _ in range(args.rounds):  # alternated, so warm-up and machine noise fall on every variant
        for name, (critic_pass, autocast_backward, precision) in variants.items():
            with critic_pass(), backward_under_autocast() if autocast_backward else contextlib.nullcontext():
                results[name].append(images_per_second(args, precision))
    print(f"WGAN-GP CNN width {args.width}, batch {args.batch_size}, {args.steps} G steps ({args.steps * 5} critic "
          f"steps) after {args.warmup}, {torch.get_num_threads()} threads, {args.rounds} alternated rounds:")
    reference = sum(results["32-true"]) / args.rounds
    for name, values in results.items():
        mean = sum(values) / len(values)
        print(f"  {name:<48}: {' '.join(f'{v:6.1f}' for v in values)}  mean {mean:6.1f} img/s, "
              f"{mean / reference:.2f} x 32-true")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--critic_steps", type=int, default=200)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--part", default="both", choices=["accuracy", "speed", "both"])
    args = parser.parse_args()
    if args.part != "speed":
        for critic_steps in (0, args.critic_steps):
            accuracy(args.width, args.batches, critic_steps)
    if args.part != "accuracy":
        speed(args)


if __name__ == "__main__":
    main()
