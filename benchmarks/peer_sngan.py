"""Seconds per generator step of SN-GAN (standard CNN, hinge loss, batch 64, n_critic 1, 3x32x32) in our
`lightning-gans fit` and in torch-fidelity's plain-PyTorch `examples/sngan_cifar10.py`, on random images.

    git -C TORCH_FIDELITY_CHECKOUT show v0.4.0:examples/sngan_cifar10.py  # the installed version > /tmp/sngan_cifar10.py
    .venv/bin/python benchmarks/peer_sngan.py --peer /tmp/sngan_cifar10.py [--rounds 2] [--steps 5 25]
        [--ours fp32= "bf16=--trainer.precision bf16-mixed" ...]

Every setting runs as a fresh process for each of the two step counts; start-up and shut-down cancel in the
difference: seconds per G step = (t(25) - t(5)) / 20. Settings are interleaved over rounds (medians reported).
The peer runs its own code with two substitutions: CIFAR-10 is torchvision's FakeData of the same size, shape and
transform (random images, no download), and its TensorBoard writer (not installed here) writes nothing. Ours runs
`fit --config sngan` on a folder of random 32x32 PNGs with FID off and no checkpoints or sample grids in between.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

import numpy as np
from PIL import Image

PEER = "peer (torch-fidelity)"  # the name of the peer's setting
PEER_CHILD = """
import runpy, sys, types
import torch_fidelity, torchvision  # torch_fidelity subclasses CIFAR10: imported before the substitution

class NoWriter:  # the example logs losses to TensorBoard every 10 steps
    def __init__(self, *args, **kwargs): pass
    def __getattr__(self, name): return lambda *args, **kwargs: None

sys.modules["torch.utils.tensorboard"] = types.SimpleNamespace(SummaryWriter=NoWriter)
torchvision.datasets.CIFAR10 = lambda root, train, download, transform: torchvision.datasets.FakeData(
    50000, (3, 32, 32), 10, transform=transform)
path, sys.argv = sys.argv[1], sys.argv[1:]
runpy.run_path(path, run_name="__main__")
"""


def peer_command(peer: str, steps: int, work: str) -> list[str]:
    return [sys.executable, "-c", PEER_CHILD, peer, "--num_total_steps", str(steps), "--num_dis_updates", "1",
            "--batch_size", "64", "--dir_dataset", work, "--dir_logs", work]


def ours_command(extra: list[str], steps: int, work: str, images: str) -> list[str]:
    return [sys.executable, "-m", "lightning_gans.commands.main", "fit", "--config", "sngan",
            "--data.dataset", "image_folder", "--data.root", images, "--data.batch_size", "64",
            "--model.n_critic", "1", "--model.max_g_steps", str(steps), "--logger", "none", "--fid.extractor", "null",
            "--samples.every_n_g_steps", "1000000", "--checkpoint.every_n_g_steps", "1000000",
            "--runs_root", work, *extra]


def seconds(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "WANDB_MODE": "disabled"}
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode:
        raise RuntimeError(" ".join(command) + "\n" + result.stderr[-3000:])
    return time.perf_counter() - start


def write_random_images(directory: Path, count: int = 2000) -> None:
    generator = np.random.default_rng(0)
    for i in range(count):
        Image.fromarray(generator.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(directory / f"{i:05d}.png")


def seconds_per_g_step(peer: str, ours: list[str], steps: tuple[int, int], rounds: int) -> dict[str, list[float]]:
    """Seconds per G step of the peer and of each of `ours` (NAME=EXTRA_FIT_ARGS), one value per round, the settings
    interleaved over the rounds so that machine noise falls on every setting."""
    few, many = steps
    with tempfile.TemporaryDirectory() as work:
        images = Path(work) / "images"
        images.mkdir()
        write_random_images(images)
        settings = {PEER: lambda steps: peer_command(peer, steps, work)}
        for item in ours:
            name, extra = item.split("=", 1)
            settings[f"ours {name}"] = lambda steps, extra=extra.split(): ours_command(extra, steps, work, str(images))
        per_step = {name: [] for name in settings}
        for _ in range(rounds):
            for name, command in settings.items():
                t_few, t_many = seconds(command(few)), seconds(command(many))
                per_step[name].append((t_many - t_few) / (many - few))
                print(f"  {name}: {t_few:.1f} s ({few} G steps), {t_many:.1f} s ({many}): "
                      f"{per_step[name][-1]:.3f} s/G step", flush=True)
    return per_step


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peer", required=True, help="path of torch-fidelity's examples/sngan_cifar10.py")
    parser.add_argument("--ours", nargs="+", default=["fp32=", "bf16=--trainer.precision bf16-mixed"],
                        help="NAME=EXTRA_FIT_ARGS settings of ours")
    parser.add_argument("--steps", nargs=2, type=int, default=[5, 25], help="the two G-step counts differenced")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    few, many = args.steps
    per_step = seconds_per_g_step(args.peer, args.ours, (few, many), args.rounds)
    peer = median(per_step[PEER])
    print(f"\nSN-GAN CNN, batch 64, n_critic 1, 3x32x32, (t({many}) - t({few})) / {many - few}, "
          f"median of {args.rounds} interleaved rounds\n")
    print("| setting | s per G step | speed vs peer |")
    print("| --- | --- | --- |")
    for name, values in per_step.items():
        print(f"| {name} | {median(values):.3f} | {peer / median(values):.2f}x |")


if __name__ == "__main__":
    main()
