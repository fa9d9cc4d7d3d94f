"""One command that measures the suite on one GPU in under 8 minutes: img/s, s/kimg, peak GPU memory and host syncs
per batch of every technique x {32-true, bf16-mixed} x {eager, compiled} x {contiguous, channels_last}, for our
LightningModule (a real pl.Trainer, manual optimisation, as users train) and for a plain PyTorch loop of the same
networks and losses (`throughput.plain_timing`); the seconds of one FID evaluation of 10k samples; with --peer,
SN-GAN against torch-fidelity's `examples/sngan_cifar10.py` (`peer_sngan.py`). Writes gpu_check.md and
gpu_check.json to --out, and prints a line per measurement as it goes.

    .venv/bin/python benchmarks/gpu_check.py --out results/gpu_check [--peer /tmp/sngan_cifar10.py]
        [--fid-extractor inception] [--compile none default] [--techniques sngan wgan] [--budget-s 480]
    .venv/bin/python benchmarks/gpu_check.py --smoke --out /tmp/gpu_check   # CPU, tiny sizes

The peer's file: `git -C TORCH_FIDELITY_CHECKOUT show v0.4.0:examples/sngan_cifar10.py > /tmp/sngan_cifar10.py`.
Each measurement is a few warm-up G steps, then timed G steps with the device's queue drained at both ends of the
clock. Whatever would start after --budget-s seconds is not measured and says so in the table ('skipped: ...'), as
does an FID extractor whose weights are missing. The compiled axis passes `compile=MODE` to the technique.
"""

import argparse
import inspect
import itertools
import json
import logging
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import median
from typing import Optional

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout, for `benchmarks.*`

from benchmarks.peer_sngan import PEER, seconds_per_g_step
from benchmarks.syncs import SYNCING_METHODS, HostSyncCounter
from benchmarks.throughput import RandomImages, build, fit_timing, plain_timing, synchronize
from lightning_gans.data import to_float
from lightning_gans.errors import ConfigError
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.evaluation import features_and_class_counts, image_metrics
from lightning_gans.metrics.extractor_classifier import ClassifierFeatureExtractor, DomainClassifier
from lightning_gans.metrics.fid import fid_features_to_statistics
from lightning_gans.techniques import TECHNIQUES
from lightning_gans.techniques.base import GANTechnique

PRECISIONS = ("32-true", "bf16-mixed")
COMPILE_MODES = ("none", "default", "reduce-overhead", "max-autotune")  # none: eager
FORMATS = ("contiguous", "channels_last")
LOOPS = ("Lightning", "plain")
NETWORKS = {"stylegan_ada": "stylegan"}  # its own networks; the others share SN-GAN's CNN, as throughput.py
RANDOM_EXTRACTOR = "lenet-random"  # the lenet classifier at initialisation: times an evaluation, its FID means nothing
OURS = ["fp32=", "bf16=--trainer.precision bf16-mixed"]  # peer_sngan.py's settings of ours


@dataclass(frozen=True)
class Sizes:
    """What one measurement runs: the batch, the networks' width (None: the paper's), the G steps before and on the
    clock, the fakes of the FID evaluation and the two G-step counts of the peer comparison."""

    batch_size: int
    width: Optional[int]
    warmup: int
    g_steps: int
    fid_samples: int
    peer_steps: tuple[int, int]


FULL = Sizes(batch_size=64, width=None, warmup=3, g_steps=30, fid_samples=10_000, peer_steps=(50, 550))
SMOKE = Sizes(batch_size=8, width=8, warmup=1, g_steps=2, fid_samples=64, peer_steps=(2, 4))


@dataclass(frozen=True)
class Cell:
    technique: str
    precision: str
    compile: str
    memory_format: str

    def label(self) -> str:
        return f"{self.technique:12} {self.precision:10} {self.compile:15} {self.memory_format:13}"


class Budget:
    """Seconds since the start, and whether a next measurement may still start."""

    def __init__(self, seconds: float):
        self.seconds, self.start = seconds, time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def exhausted(self) -> Optional[str]:
        """'skipped: ...' once the budget is spent, else None."""
        return f"skipped: over the {self.seconds:.0f} s budget" if self.elapsed() > self.seconds else None


# ------------------------------------------------------------------------------------------- training steps
def build_model(cell: Cell, sizes: Sizes) -> GANTechnique:
    options = {"channels_last": cell.memory_format == "channels_last", "width": sizes.width,
               "architecture": NETWORKS.get(cell.technique, "cnn"), "max_g_steps": sizes.warmup + sizes.g_steps}
    if cell.compile != "none":
        torch.compiler.reset()  # each cell compiles its own graphs, none left over from (or counted against) another
        options["compile"] = cell.compile
    return build(cell.technique, True, **options)


def measure(cell: Cell, loop: str, sizes: Sizes, device: torch.device) -> dict:
    """img/s, s/kimg, peak device memory and host syncs per batch (critic step) of one loop over the timed steps."""
    model, syncs = build_model(cell, sizes), HostSyncCounter()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if loop == "Lightning":
        timing = fit_timing(model, sizes.batch_size, sizes.warmup, cell.precision, device.type, syncs)
    else:
        timing = plain_timing(model, sizes.batch_size, sizes.warmup, sizes.g_steps, cell.precision, device, syncs)
    return {
        "img_per_s": timing.images_per_second,
        "s_per_kimg": 1000 / timing.images_per_second,
        "peak_mib": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None,
        "syncs_per_batch": syncs.calls / timing.batches,
        "cuda_syncs_per_batch": None if syncs.cuda_syncs is None else syncs.cuda_syncs / timing.batches,
    }


def median_of(values: list[dict]) -> dict:
    """The median of each number over the rounds."""
    return {key: None if values[0][key] is None else median(v[key] for v in values) for key in values[0]}


def measure_cells(cells: list[Cell], loops_of, sizes: Sizes, device, rounds: int, budget: Budget) -> list[dict]:
    """One row per cell: each loop's medians over `rounds` interleaved rounds, or why it was skipped."""
    results = {(cell, loop): [] for cell in cells for loop in loops_of(cell)}
    skipped = {}
    for _ in range(rounds):  # interleaved, so machine noise falls on every cell
        for (cell, loop), values in results.items():
            if (reason := budget.exhausted()) is not None:
                skipped.setdefault((cell, loop), reason)
                continue
            values.append(measure(cell, loop, sizes, device))
            value = values[-1]
            memory = "" if value["peak_mib"] is None else f", peak {value['peak_mib']:.0f} MiB"
            print(f"[{budget.elapsed():5.0f} s] {cell.label()} {loop:9} {value['img_per_s']:8.1f} img/s"
                  f"{memory}, {value['syncs_per_batch']:.1f} syncs/batch", flush=True)
    rows = []
    for cell in cells:
        row = {**asdict(cell)}
        for loop in LOOPS:
            values = results.get((cell, loop))
            row[loop] = median_of(values) if values else skipped.get((cell, loop), "not measured (--plain-all-formats)")
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------------------- FID
def fid_extractor(name: str, weights: Optional[str]):
    """(extractor, label), or (None, 'skipped: <why>') when it cannot be built (its weights are missing)."""
    if name == RANDOM_EXTRACTOR:
        extractor = ClassifierFeatureExtractor(name, DomainClassifier(), "random").eval().requires_grad_(False)
        return extractor, f"{name} (lenet at initialisation: the time of an evaluation, not a meaningful FID)"
    try:
        return build_feature_extractor(name, weights), name
    except ConfigError as error:
        return None, f"skipped: {error}"


def fid_evaluation(name: str, weights: Optional[str], sizes: Sizes, device: torch.device) -> dict:
    """Seconds of one evaluation of `sizes.fid_samples` fakes of an SN-GAN (`evaluation.image_metrics`, as the
    training callbacks call it) against real statistics already computed (a warm cache) of as many random images."""
    extractor, label = fid_extractor(name, weights)
    if extractor is None:
        return {"extractor": name, "num_samples": sizes.fid_samples, "seconds": label}
    extractor.to(device)
    model = build("sngan", True, width=sizes.width).to(device)
    images = RandomImages(sizes.batch_size).load_train_samples()
    images = images[torch.randint(0, len(images), (sizes.fid_samples,), generator=torch.Generator().manual_seed(0))]
    features, _ = features_and_class_counts(extractor, (to_float(batch) for batch in images.split(250)), device)
    real = fid_features_to_statistics(features)
    synchronize(device)
    start = time.perf_counter()
    metrics = image_metrics(model.sample, extractor, real, "train", sizes.fid_samples, model.latent_dim, device=device)
    synchronize(device)
    return {"extractor": label, "num_samples": sizes.fid_samples, "seconds": time.perf_counter() - start,
            "metrics": metrics}


# ------------------------------------------------------------------------------------------------ tables
def seconds_text(seconds) -> str:
    """Seconds, or the reason why there are none."""
    return f"{seconds:.1f} s" if isinstance(seconds, float) else seconds


def cell_text(value, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(report: dict) -> str:
    settings = report["settings"]
    lines = [f"# GPU throughput check\n\n{settings['device']}; torch {settings['torch']}; batch "
             f"{settings['sizes']['batch_size']}, {settings['sizes']['g_steps']} timed G steps after "
             f"{settings['sizes']['warmup']} warm-up, median of {settings['rounds']} interleaved rounds; "
             f"{report['total_seconds']:.0f} s in all (budget {settings['budget_s']:.0f} s); load average "
             f"{settings['load_average_start']} at the start, {report['load_average_end']} at the end.\n",
             "syncs/batch: calls of " + ", ".join(f"`{m}`" for m in settings["sync_methods"]) + " per critic step "
             "(`.cpu()` of a device tensor only); CUDA syncs: what torch.cuda's sync debug mode reports.\n",
             "| technique | precision | compile | memory format | img/s | s/kimg | peak MiB | syncs/batch | CUDA syncs/batch "
             "| plain img/s | Lightning / plain |",
             "|" + " --- |" * 11]
    for row in report["cells"]:
        ours, plain = row["Lightning"], row["plain"]
        head = f"| {row['technique']} | {row['precision']} | {row['compile']} | {row['memory_format']} |"
        plain_cells = [cell_text(plain["img_per_s"], 1), "-"] if isinstance(plain, dict) else [plain, "-"]
        if not isinstance(ours, dict):
            lines.append(f"{head} {ours} | - | - | - | - | {' | '.join(plain_cells)} |")
            continue
        if isinstance(plain, dict):
            plain_cells[1] = f"{ours['img_per_s'] / plain['img_per_s']:.2f}"
        lines.append(f"{head} {ours['img_per_s']:.1f} | {ours['s_per_kimg']:.3f} | {cell_text(ours['peak_mib'], 0)} | "
                     f"{ours['syncs_per_batch']:.1f} | {cell_text(ours['cuda_syncs_per_batch'], 1)} | "
                     f"{' | '.join(plain_cells)} |")
    fid = report["fid"]
    lines += ["", "| FID evaluation | fakes | seconds |", "| --- | --- | --- |",
              f"| {fid['extractor']} | {fid['num_samples']:,} | {seconds_text(fid['seconds'])} |"]
    peer = report["peer"]
    if peer is not None and peer["skipped"] is not None:
        lines += ["", f"SN-GAN against torch-fidelity's example: {peer['skipped']}"]
    elif peer is not None:
        lines += ["", f"SN-GAN, batch 64, n_critic 1, (t({peer['steps'][1]}) - t({peer['steps'][0]})) / "
                  f"{peer['steps'][1] - peer['steps'][0]} G steps of whole processes (`peer_sngan.py`), median of "
                  f"{settings['rounds']} interleaved rounds", "", "| setting | s per G step | speed vs peer |",
                  "| --- | --- | --- |"]
        lines += [f"| {name} | {value:.4f} | {peer['seconds_per_g_step'][PEER] / value:.2f}x |"
                  for name, value in peer["seconds_per_g_step"].items()]
    return "\n".join(lines) + "\n"


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as `uptime` prints them."""
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"


# --------------------------------------------------------------------------------------------------- main
def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, type=Path, help="directory of gpu_check.md and gpu_check.json")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes on the CPU, to check that it runs "
                        f"(FID: {RANDOM_EXTRACTOR} unless --fid-extractor names another)")
    parser.add_argument("--techniques", nargs="+", default=list(TECHNIQUES), choices=list(TECHNIQUES))
    parser.add_argument("--precisions", nargs="+", default=list(PRECISIONS), choices=PRECISIONS)
    parser.add_argument("--compile", nargs="+", default=["none", "default"], choices=COMPILE_MODES,
                        help="none: eager; the others are torch.compile modes, passed to the technique as compile=MODE")
    parser.add_argument("--formats", nargs="+", default=list(FORMATS), choices=FORMATS)
    parser.add_argument("--plain-all-formats", action="store_true",
                        help="measure the plain loop in every memory format (default: contiguous only)")
    parser.add_argument("--rounds", type=int, default=1, help="alternate all measurements this many times")
    parser.add_argument("--budget-s", type=float, default=480, help="start no measurement after this many seconds")
    parser.add_argument("--fid-extractor", default="inception",
                        help=f"a feature extractor of the suite, or {RANDOM_EXTRACTOR} (no weights needed)")
    parser.add_argument("--fid-weights", help="the extractor's weights file (default: where the suite looks)")
    parser.add_argument("--peer", help="path of torch-fidelity's examples/sngan_cifar10.py: compare SN-GAN with it")
    parser.add_argument("--peer-ours", nargs="+", default=OURS, metavar="NAME=EXTRA_FIT_ARGS",
                        help="our settings against the peer (peer_sngan.py's --ours)")
    parser.add_argument("--device", help="default: cuda when available, else cpu (--smoke: cpu)")
    for field in ("batch_size", "width", "warmup", "g_steps", "fid_samples"):
        parser.add_argument(f"--{field.replace('_', '-')}", type=int, help=f"override the {field} of the sizes")
    parser.add_argument("--peer-steps", nargs=2, type=int, help="override the two G-step counts of the peer comparison")
    args = parser.parse_args()
    if any(mode != "none" for mode in args.compile) and "compile" not in inspect.signature(GANTechnique).parameters:
        parser.error("this checkout's GANTechnique has no compile option: run with --compile none")
    return args


def main():
    args = parse_args()
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)  # no accelerator banner for every measurement
    device = torch.device(args.device or ("cpu" if args.smoke or not torch.cuda.is_available() else "cuda"))
    sizes = Sizes(**{**asdict(SMOKE if args.smoke else FULL),
                     **{k: v for k, v in vars(args).items() if k in Sizes.__annotations__ and v is not None}})
    fid_extractor_name = RANDOM_EXTRACTOR if args.smoke and args.fid_extractor == "inception" else args.fid_extractor
    budget = Budget(args.budget_s)
    cells = [Cell(technique, precision, mode, memory_format) for mode, precision, memory_format, technique
             in itertools.product(args.compile, args.precisions, args.formats, args.techniques)]  # eager first

    def loops_of(cell: Cell) -> tuple[str, ...]:
        return LOOPS if args.plain_all_formats or cell.memory_format == "contiguous" else ("Lightning",)

    settings = {"device": device_name(device), "torch": torch.__version__, "sizes": asdict(sizes),
                "rounds": args.rounds, "budget_s": args.budget_s, "load_average_start": load_average(),
                "sync_methods": list(SYNCING_METHODS)}
    rows = measure_cells(cells, loops_of, sizes, device, args.rounds, budget)
    reason = budget.exhausted()
    fid = (fid_evaluation(fid_extractor_name, args.fid_weights, sizes, device) if reason is None else
           {"extractor": fid_extractor_name, "num_samples": sizes.fid_samples, "seconds": reason})
    print(f"[{budget.elapsed():5.0f} s] FID evaluation of {sizes.fid_samples} fakes ({fid['extractor']}): "
          f"{seconds_text(fid['seconds'])}", flush=True)
    peer = None
    if args.peer:
        peer = {"steps": sizes.peer_steps, "skipped": budget.exhausted()}
        if peer["skipped"] is None:
            per_step = seconds_per_g_step(args.peer, args.peer_ours, sizes.peer_steps, args.rounds)
            peer.update(seconds_per_g_step={k: median(v) for k, v in per_step.items()}, rounds=per_step)
    report = {"settings": settings, "cells": rows, "fid": fid, "peer": peer, "total_seconds": budget.elapsed(),
              "load_average_end": load_average()}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    table = markdown(report)
    (args.out / "gpu_check.md").write_text(table)
    print("\n" + table)


if __name__ == "__main__":
    main()
