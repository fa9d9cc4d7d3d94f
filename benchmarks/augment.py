"""Images per second of StyleGANADA (32x32x1, batch 32, CPU) through the LightningModule with a fixed
augmentation probability p = 0 (the pipe is skipped) and p = 0.5; reports both and their ratio, the cost of the
augment pipe.

    .venv/bin/python benchmarks/augment.py [--steps 20] [--width 128] [--rounds 2]
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: the checkout, for `benchmarks.throughput`

import argparse

import pytorch_lightning as pl
import torch

from benchmarks.throughput import RandomImages, StepTimer
from lightning_gans import StyleGANADA


def images_per_second(p, args):
    pl.seed_everything(0, verbose=False)
    model = StyleGANADA(width=args.width, augment_p=p, ada_heuristic="fixed", max_g_steps=args.warmup + args.steps)
    timer = StepTimer(args.warmup)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=-1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False, callbacks=[timer])
    trainer.fit(model, RandomImages(args.batch_size))
    return timer.images_per_second()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=2, help="alternate p = 0 and p = 0.5 this many times")
    args = parser.parse_args()
    results = {0.0: [], 0.5: []}
    for _ in range(args.rounds):  # interleaved, so machine noise falls on both sides
        for p in results:
            results[p].append(images_per_second(p, args))
    print(f"StyleGANADA width {args.width}, batch {args.batch_size}, 32x32x1, {torch.get_num_threads()} threads, "
          f"{args.steps} G steps after {args.warmup} warm-up, {args.rounds} interleaved rounds")
    for p, values in results.items():
        print(f"p = {p}: {' '.join(f'{v:7.1f}' for v in values)}  mean {sum(values) / len(values):7.1f} img/s")
    print(f"ratio p=0.5 / p=0: {sum(results[0.5]) / sum(results[0.0]):.3f}")


if __name__ == "__main__":
    main()
