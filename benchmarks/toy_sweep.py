"""The tuning sweep behind the toy configs and the `toy` bench preset (issue 13): grid25 mode coverage of each
setting, one `lightning-gans fit` per (setting, seed), two at a time, each with OMP_NUM_THREADS=1.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/toy_sweep.py [--only r1-base,r1-linear] [--seeds 0,2] [--parallel 2]

A setting is a technique config under experiments/toy/ plus fit overrides on top of the `toy` preset's protocol
(`bench.presets.PRESETS['toy']`: grid25, 2,500 EMA-generator samples scored every 500 G steps here). Runs live in
`--runs_root` (default results/toy_sweep/); a finished run (one whose metrics.csv has its last toy metrics row) is
never retrained. The table, one row per (setting, seed) with the metrics at the end of the run and its training wall
time, goes to benchmarks/toy_sweep.md between the markers; rows of runs no longer in `--runs_root` (earlier
sessions') stay, so the table grows as settings are added.
"""

import argparse
import csv
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from lightning_gans.bench.presets import PRESETS
from lightning_gans.bench.runner import QUIET

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "benchmarks" / "toy_sweep.md"
BEGIN, END = "<!-- sweep table -->", "<!-- end sweep table -->"
METRICS = ("toy/modes_covered", "toy/high_quality", "toy/reverse_kl", "toy/modes_any")

# The settings, in the order they were tried. BASE is the plain loop of issue 13 (4 x 256 ReLU MLPs, Adam 1e-4 betas
# (0.8, 0.999); R1 gamma 1) at 2000 G steps; r1-linear adds the linear decay, each next one changes what its label
# says. The chosen one (r1-lr1e-3-b0.5-gamma0.1, its Adam setting shared by every Adam technique) is in
# experiments/toy/*.yaml.
BASE = ("--model.width", "256", "--model.depth", "4", "--model.lr_g", "1e-4", "--model.lr_d", "1e-4",
        "--model.betas", "[0.8,0.999]", "--model.max_g_steps", "2000")
LINEAR = (*BASE, "--model.lr_schedule", "linear")


def adam(lr: float, beta1: float, beta2: float) -> tuple[str, ...]:
    return "--model.lr_g", str(lr), "--model.lr_d", str(lr), "--model.betas", f"[{beta1},{beta2}]"


FAST = adam(1e-3, 0.5, 0.9)  # the WGAN-GP toy script's betas
LONG = ("--model.max_g_steps", "4000")
SHORT = ("--model.max_g_steps", "3000")  # the preset's budget when the last settings were tried
N_CRITIC_1 = ("--model.n_critic", "1")  # SN-GAN's toy config now holds 5


SETTINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "r1-linear": ("r1gan", (*LINEAR, "--model.r1_gamma", "1")),
    "r1-lr3e-4": ("r1gan", (*LINEAR, "--model.r1_gamma", "1", "--model.lr_g", "3e-4", "--model.lr_d", "3e-4")),
    "r1-lr1e-3": ("r1gan", (*LINEAR, "--model.r1_gamma", "1", "--model.lr_g", "1e-3", "--model.lr_d", "1e-3")),
    "wgan_gp-lr1e-3-b0.5-1000": ("wgan_gp", (*LINEAR, *FAST, "--model.gp_weight", "0.1", "--model.max_g_steps", "1000")),
    "r1-lr1e-3-b0.5-gamma0.1": ("r1gan", (*LINEAR, *FAST, "--model.r1_gamma", "0.1")),
    "r1-lr1e-3-b0.5-gamma0.01": ("r1gan", (*LINEAR, *FAST, "--model.r1_gamma", "0.01")),
    "sngan-lr1e-3-b0.5": ("sngan", (*LINEAR, *FAST, *N_CRITIC_1)),
    "r1-lr1e-3-b0.5-gamma0.1-4000": ("r1gan", (*LINEAR, *FAST, "--model.r1_gamma", "0.1", "--model.max_g_steps", "4000")),
    # At 4000 G steps, each technique from its toy config (the chosen R1 setting above), changing what the label says.
    "wgan_gp-4000": ("wgan_gp", LONG),
    "sngan-4000": ("sngan", (*LONG, *N_CRITIC_1)),
    "sngan-lr2e-4-b0.5-0.999-4000": ("sngan", (*LONG, *N_CRITIC_1, *adam(2e-4, 0.5, 0.999))),  # SN-GAN paper's setting C
    "wgan-4000": ("wgan", LONG),
    "sngan-D-4000": ("sngan", (*LONG, "--model.n_critic", "5")),  # SN-GAN paper's setting D: Adam 1e-3 (0.5, 0.9), n_dis 5
    "wgan-lr2e-4-4000": ("wgan", (*LONG, "--model.lr_g", "2e-4", "--model.lr_d", "2e-4")),  # RMSprop, c = 0.01
    "wgan-c0.1-4000": ("wgan", (*LONG, "--model.clip_value", "0.1")),  # stopped at G step 1500: D's scores at -1000
    # At 3000 G steps. WGAN: c bracketing the paper's 0.01 (the clipped biases weigh more at small c).
    "wgan-c0.003": ("wgan", (*SHORT, "--model.clip_value", "0.003")),
    "wgan-c0.03": ("wgan", (*SHORT, "--model.clip_value", "0.03")),
    # SN-GAN concentrates its points only once the decay has brought Adam's 1e-3 below about 3e-4 (seed 2: 9 modes):
    # the paper's setting A (1e-4, n_dis 5) and 3e-4, decayed linearly as the others.
    "sngan-A": ("sngan", (*SHORT, *adam(1e-4, 0.5, 0.9))),
    "sngan-lr3e-4": ("sngan", (*SHORT, *adam(3e-4, 0.5, 0.9))),
}


def run_dir(runs_root: Path, label: str, seed: int) -> Path:
    return runs_root / label / f"seed{seed}"


def final_row(directory: Path) -> dict | None:
    """The metrics at the end of a finished run, with its wall time; None when it has not finished."""
    files = sorted(directory.glob("*/*/metrics.csv"))
    if not files:
        return None
    with open(files[0]) as f:
        rows = list(csv.DictReader(f))
    toy = [row for row in rows if row.get("toy/modes_covered")]
    wall = [row for row in rows if row.get("progress/wall_time_s")]
    config = (files[0].parent / "config.yaml").read_text()
    budget = next(int(line.split(":")[1]) for line in config.splitlines() if line.strip().startswith("max_g_steps:"))
    if not toy or int(toy[-1]["step"]) != budget:
        return None
    return {"g_steps": budget, "wall_s": float(wall[-1]["progress/wall_time_s"]),
            **{key: float(toy[-1][key]) for key in METRICS}}


def fit(runs_root: Path, label: str, seed: int) -> None:
    technique, overrides = SETTINGS[label]
    directory = run_dir(runs_root, label, seed)
    if final_row(directory):
        return
    command = [sys.executable, "-m", "lightning_gans.commands.main", "fit",
               "--config", str(REPO / "experiments" / "toy" / f"{technique}.yaml"), "--seed_everything", str(seed),
               "--runs_root", str(directory), "--run_name", "run", "--logger", "csv",
               *PRESETS["toy"].overrides, *QUIET, "--toy_metrics.every_n_g_steps", "500", *overrides]
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "fit.log", "w") as log:
        subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS="1"))


def write_table(runs_root: Path) -> str:
    """The table of every (setting, seed) run in `runs_root`, keeping the rows already in TABLE whose runs are not
    there (runs of earlier sessions), in the order of SETTINGS."""
    text = TABLE.read_text() if TABLE.is_file() else f"# Toy sweep\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN)
    old_table, tail = rest.split(END)
    rows = {tuple(cells[:2]): line for line in old_table.splitlines()
            if (cells := [c.strip() for c in line.strip("|").split("|")])[0] in SETTINGS}
    for label in SETTINGS:
        for seed in sorted(int(d.name.removeprefix("seed")) for d in (runs_root / label).glob("seed*")):
            row = final_row(run_dir(runs_root, label, seed))
            if row:
                rows[(label, str(seed))] = (
                    f"| {label} | {seed} | {row['g_steps']} | {row['wall_s']:.0f} | {row['toy/modes_covered']:.0f} | "
                    f"{100 * row['toy/high_quality']:.1f} | {row['toy/reverse_kl']:.3f} | {row['toy/modes_any']:.0f} |")
    order = {label: i for i, label in enumerate(SETTINGS)}
    table = "\n".join(["| setting | seed | G steps | wall s | modes (>= 20 HQ) | HQ % | reverse KL | modes (>= 1 HQ) |",
                       "|---|---|---|---|---|---|---|---|",
                       *(rows[key] for key in sorted(rows, key=lambda key: (order[key[0]], int(key[1]))))])
    TABLE.write_text(f"{head}{BEGIN}\n{table}\n{END}{tail}")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated setting labels (default: all)")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds (default: 0)")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--runs_root", type=Path, default=REPO / "results" / "toy_sweep")
    args = parser.parse_args()
    labels = args.only.split(",") if args.only else list(SETTINGS)
    unknown = set(labels) - set(SETTINGS)
    if unknown:
        parser.error(f"unknown settings {sorted(unknown)}; choose from {list(SETTINGS)}")
    jobs = [(label, int(seed)) for label in labels for seed in args.seeds.split(",")]
    with ThreadPoolExecutor(args.parallel) as pool:
        list(pool.map(lambda job: fit(args.runs_root, *job), jobs))
    print(write_table(args.runs_root))


if __name__ == "__main__":
    main()
