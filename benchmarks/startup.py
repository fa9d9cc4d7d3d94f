"""Seconds from the command to the first training step, and to the end, of a 1-G-step toy fit, and of
`lightning-gans --help`, for one or more checkouts of the code interleaved over rounds (e.g. main's and this
branch's), beside the floor no checkout can go below: a bare `import pytorch_lightning.cli`.

    .venv/bin/python benchmarks/startup.py [--code NAME=PATH ...] [--logger csv] [--rounds 3]

Each run is `python -m lightning_gans.commands.main fit --config toy/sngan --model.max_g_steps 1` in a fresh process
with PYTHONPATH=PATH; the first training step is timed by wrapping `GANTechnique.training_step` in that process.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

CHILD = """
import runpy, sys, time
import lightning_gans.techniques.base as base
step = base.GANTechnique.training_step
def first_step(self, *args, **kwargs):
    if self.d_step == 0:
        print(f"FIRST_STEP {time.time()}", flush=True)
    return step(self, *args, **kwargs)
base.GANTechnique.training_step = first_step
sys.argv = ["lightning-gans"] + sys.argv[1:]
runpy.run_module("lightning_gans.commands.main", run_name="__main__")
"""


def run_once(code: str, logger: str, runs_root: str) -> tuple[float, float]:
    """(seconds to the first training step, seconds to exit) of one 1-G-step toy fit with `code` on PYTHONPATH."""
    env = {**os.environ, "PYTHONPATH": code, "WANDB_MODE": "disabled"}
    command = [sys.executable, "-c", CHILD, "fit", "--config", "toy/sngan", "--model.max_g_steps", "1",
               "--runs_root", runs_root, "--logger", logger]
    start = time.time()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    end = time.time()
    if result.returncode:
        raise RuntimeError(result.stderr[-2000:])
    # The progress bar shares stdout, so the mark may follow its text on the same line.
    first = float(re.search(r"FIRST_STEP (\S+)", result.stdout).group(1))
    return first - start, end - start


def seconds(command: list[str], env: dict) -> float:
    start = time.time()
    subprocess.run(command, env=env, capture_output=True, check=True)
    return time.time() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--code", nargs="+", default=[f"this={Path(__file__).resolve().parents[1]}"],
                        help="NAME=PATH of a checkout whose lightning_gans to time")
    parser.add_argument("--logger", default="csv", choices=["csv", "wandb", "tensorboard", "none"])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    codes = dict(item.split("=", 1) for item in args.code)
    times = {name: [] for name in codes}
    floor = []
    with tempfile.TemporaryDirectory() as runs_root:
        for _ in range(args.rounds):  # interleaved, so machine noise falls on every checkout
            floor.append(seconds([sys.executable, "-c", "import pytorch_lightning.cli"], dict(os.environ)))
            print(f"  import pytorch_lightning.cli: {floor[-1]:.1f} s", flush=True)
            for name, path in codes.items():
                env = {**os.environ, "PYTHONPATH": path}
                help_seconds = seconds([sys.executable, "-m", "lightning_gans.commands.main", "--help"], env)
                times[name].append((help_seconds, *run_once(path, args.logger, runs_root)))
                print(f"  {name}: --help {help_seconds:.2f} s, fit: first step {times[name][-1][1]:.1f} s, "
                      f"exit {times[name][-1][2]:.1f} s", flush=True)
    print(f"\n1-G-step toy fit (toy/sngan, --logger {args.logger}) and --help, median of {args.rounds} interleaved "
          f"rounds; a bare `import pytorch_lightning.cli` took {median(floor):.1f} s\n")
    print("| code | s for --help | s to first training step | s to exit |")
    print("| --- | --- | --- | --- |")
    for name, values in times.items():
        print(f"| {name} | {median(v[0] for v in values):.2f} | {median(v[1] for v in values):.1f} | "
              f"{median(v[2] for v in values):.1f} |")


if __name__ == "__main__":
    main()
