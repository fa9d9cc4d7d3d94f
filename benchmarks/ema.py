"""FID of EMA generators (fixed decay, warm-up schemes, three kinds of BatchNorm statistics) against the live
generator, all measured on one training trajectory per technique and seed.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/ema.py [--techniques sngan,wgan_gp] [--seeds 1] [--at 150,600]

Each run is `lightning-gans fit` with the fmnist-cpu protocol (`bench.presets.PRESETS['fmnist-cpu']`: FID of 2,000 samples
in lenet-fmnist features against 2,000 training images) at the CNN width 16 and batch 32 the README's table was
measured with (`PROTOCOL`), stopped at the last `--at` step. Beside training, a callback keeps one EMA copy of G per
(decay schedule, BatchNorm buffers) pair and, at each `--at` G step, scores every variant with the same latent
codes. Neither the copies nor the standing statistics touch the training or its RNG stream, so all variants see the
same trajectory. Decay schedules: `fixed` 0.999 from step 0 (before issue 12), `rampup` (`training.ema.ema_beta`,
ema_rampup 0.05, the default), `t+10` min(0.999, (1 + t) / (10 + t)). BatchNorm statistics: `copy` the live G's
buffers (before issue 12), `ema` of the live G's buffers with the same decay (what `GANTechnique.update_ema` now
does), `standing` statistics of the EMA weights (BigGAN's, `with_standing_statistics`).
"""

import argparse
import copy
import math
import statistics
import sys
import tempfile
from pathlib import Path

import pytorch_lightning as pl
import torch

from lightning_gans.bench.presets import PRESETS
from lightning_gans.bench.runner import QUIET
from lightning_gans.commands.fit import GANCLI
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.evaluation import image_metrics
from lightning_gans.metrics.reference import RealStatistics
from lightning_gans.training.ema import BATCH_NORMS, ema_beta

PROTOCOL = ("--model.width", "16", "--data.batch_size", "32", "--model.max_kimg", "null")  # fmnist-cpu's before issue 13
STANDING_STATISTICS_SAMPLES, STANDING_STATISTICS_BATCH, STANDING_STATISTICS_SEED = 1024, 64, 0
NUM_SAMPLES = 2000

REPO = Path(__file__).resolve().parents[1]
DECAY, RAMPUP = 0.999, 0.05
SCHEDULES = {
    "fixed": lambda t: DECAY,
    # ema_beta counts images; here one unit per G step, so the half-life of DECAY in G steps is its ema_kimg * 1000.
    "rampup": lambda t: ema_beta(1, t, math.log(0.5) / math.log(DECAY) / 1000, RAMPUP),
    "t+10": lambda t: min(DECAY, (1 + t) / (10 + t)),
}


class EMACopy:
    """An EMA of G's parameters with `schedule`; its BatchNorm buffers are copied from G ('copy') or averaged
    with the same decay ('ema')."""

    def __init__(self, generator, schedule, buffers):
        self.ema, self.schedule, self.buffers = copy.deepcopy(generator).requires_grad_(False), schedule, buffers

    @torch.no_grad()
    def update(self, generator, t):
        beta = SCHEDULES[self.schedule](t)
        for ema, live in zip(self.ema.parameters(), generator.parameters()):
            ema.lerp_(live, 1 - beta)
        for ema, live in zip(self.ema.buffers(), generator.buffers()):
            if self.buffers == "ema" and ema.is_floating_point():
                ema.lerp_(live, 1 - beta)
            else:
                ema.copy_(live)


def eval_sampler(generator):
    """z -> samples of `generator` in eval mode."""

    @torch.no_grad()
    def sample(z):
        was_training = generator.training
        generator.eval()
        out = generator(z)
        generator.train(was_training)
        return out

    return sample


@torch.no_grad()
def with_standing_statistics(generator, latent_dim):
    """A copy of `generator` with BigGAN's standing statistics: every BatchNorm's running mean and variance set to
    the average batch statistics of train-mode passes over seeded latent codes."""
    generator = copy.deepcopy(generator)
    z = torch.randn(STANDING_STATISTICS_SAMPLES, latent_dim,
                    generator=torch.Generator().manual_seed(STANDING_STATISTICS_SEED))
    norms = [module for module in generator.modules() if isinstance(module, BATCH_NORMS)]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    generator.train()
    for batch in z.split(STANDING_STATISTICS_BATCH):
        generator(batch)
    return generator


class EMAVariants(pl.Callback):
    def __init__(self, at):
        self.at, self.copies, self.results, self.last_g_step = at, {}, {}, 0
        self.extractor = build_feature_extractor("lenet-fmnist")

    def on_fit_start(self, trainer, model):
        self.copies = {(s, b): EMACopy(model.generator, s, b) for s in SCHEDULES for b in ("copy", "ema")}
        data = trainer.datamodule
        reference = RealStatistics(data.dataset, data.root, "train", data.resolution, NUM_SAMPLES)
        self.real = reference.load_or_compute(self.extractor, 250, model.device)

    def on_train_batch_end(self, trainer, model, outputs, batch, batch_idx):
        if model.g_step == self.last_g_step:
            return
        self.last_g_step = model.g_step
        for ema in self.copies.values():
            ema.update(model.generator, model.g_step - 1)  # t = the G updates before this one, as in update_ema
        if model.g_step in self.at:
            self.results[model.g_step] = self.evaluate(trainer, model)

    def evaluate(self, trainer, model):
        key = "fid/lenet-fmnist_2k_train"

        def fid(sample):
            return image_metrics(sample, self.extractor, self.real, "train", NUM_SAMPLES, model.hparams.latent_dim)[key]

        generators = {"live G": model.generator}
        for schedule in SCHEDULES:
            generators[f"{schedule} copy"] = self.copies[schedule, "copy"].ema
            generators[f"{schedule} ema"] = self.copies[schedule, "ema"].ema
            generators[f"{schedule} standing"] = with_standing_statistics(self.copies[schedule, "copy"].ema,
                                                                          model.hparams.latent_dim)
        scores = {name: fid(eval_sampler(g)) for name, g in generators.items()}
        scores["model.sample"] = fid(model.sample)  # the shipped EMA: rampup, BatchNorm statistics averaged ('ema')
        return scores


def run(technique, seed, at, root):
    variants = EMAVariants(at)

    class CLI(GANCLI):
        def instantiate_trainer(self, **kwargs):
            trainer = super().instantiate_trainer(**kwargs)
            trainer.callbacks.append(variants)
            return trainer

    overrides = [*PRESETS["fmnist-cpu"].overrides, *PROTOCOL, "--model.max_g_steps", str(max(at)),
                 "--fid.extractor", "null", "--samples.every_n_g_steps", "1000000", "--checkpoint.every_n_g_steps", "1000000"]
    CLI(args=["fit", "--config", str(REPO / "experiments" / f"{technique}.yaml"), "--seed_everything", str(seed),
              "--runs_root", str(root), "--run_name", f"seed{seed}", "--logger", "none", *overrides, *QUIET])
    return variants.results


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--techniques", default="sngan")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--at", default="150,600", help="G steps at which every variant is scored")
    args = parser.parse_args()
    at = [int(step) for step in args.at.split(",")]
    print(f"$ {' '.join(sys.argv)}  ({torch.get_num_threads()} threads)")
    for technique in args.techniques.split(","):
        per_seed = []
        with tempfile.TemporaryDirectory() as root:
            for seed in range(args.seeds):
                per_seed.append(run(technique, seed, at, root))
                print(f"{technique} seed {seed}: " + ", ".join(f"{step}: {per_seed[-1][step]}" for step in at), flush=True)
        names = list(per_seed[0][at[0]])
        print(f"\n{technique}, fid/lenet-fmnist_2k_train, mean (min-max) over {args.seeds} seed(s)\n")
        print("| generator | " + " | ".join(f"{step} G steps" for step in at) + " |")
        print("|---|" + "---|" * len(at))
        for name in names:
            cells = []
            for step in at:
                values = [result[step][name] for result in per_seed]
                cells.append(f"{statistics.mean(values):.2f} ({min(values):.2f}-{max(values):.2f})")
            print(f"| {name} | " + " | ".join(cells) + " |")
        print(flush=True)


if __name__ == "__main__":
    main()
