"""Mode coverage of 2-D toy mixtures, per the VEEGAN / PacGAN protocol (Srivastava et al. 2017; Lin et al. 2018).

Each sample is assigned to its nearest mode; it is high quality when within 3 standard deviations of it.
A mode is covered when at least `min_samples_per_mode` high-quality samples fall on it: 20 of 2,500 (PacGAN, Lin et
al. 2018). VEEGAN (Srivastava et al. 2017) counts a mode with at least 1; that count is logged as `toy/modes_any`.
Besides, `toy/frechet_xy` is the Frechet distance between generated and real points on their raw 2-D coordinates
(FID's formula without a feature network): one continuous number per step, for curves and rankings.
"""

import torch

from lightning_gans.data import Toy2DDataModule
from lightning_gans.metric_fid import fid_features_to_statistics, fid_metric
from lightning_gans.sampling import latents_for_indices, rank_share
from lightning_gans.schedule import EveryNGeneratorSteps


def high_quality_counts(samples: torch.Tensor, modes: torch.Tensor, std: float) -> torch.Tensor:
    """(K,) number of samples within 3 std of each mode (assigned to their nearest mode). Counts add across
    processes, so a distributed evaluation sums them before `mode_statistics_from_counts`."""
    distance, nearest = torch.cdist(samples.float(), modes.float().to(samples.device)).min(dim=1)
    return torch.bincount(nearest[distance <= 3 * std], minlength=len(modes)).float()


def mode_statistics_from_counts(counts: torch.Tensor, num_samples: int, min_samples_per_mode: int = 20) -> dict[str, float]:
    """`modes_covered` (modes with >= `min_samples_per_mode` high-quality samples, PacGAN's rule), `modes_any`
    (with >= 1, VEEGAN's rule), `high_quality` (fraction of all samples within 3 std of their mode) and
    `reverse_kl`, KL(q || uniform) of the histogram q of high-quality samples over modes: +inf when there is no
    high-quality sample, so a generator that misses every mode never scores best."""
    if counts.sum() == 0:
        reverse_kl = float("inf")
    else:
        histogram = counts / counts.sum()
        present = histogram > 0
        reverse_kl = float((histogram[present] * (histogram[present] * len(counts)).log()).sum())
    return {
        "modes_covered": float((counts >= min_samples_per_mode).sum()),
        "modes_any": float((counts >= 1).sum()),
        "high_quality": float(counts.sum() / num_samples),
        "reverse_kl": reverse_kl,
    }


def mode_statistics(samples: torch.Tensor, modes: torch.Tensor, std: float, min_samples_per_mode: int = 20) -> dict[str, float]:
    """The statistics of one sample set (see `mode_statistics_from_counts`)."""
    return mode_statistics_from_counts(high_quality_counts(samples, modes, std), len(samples), min_samples_per_mode)


class ToyMetrics(EveryNGeneratorSteps):
    """Mode statistics of `num_samples` EMA-generator samples every `every_n_g_steps` generator steps and at the
    end, logged as `toy/modes_covered`, `toy/modes_any`, `toy/high_quality`, `toy/reverse_kl` and `toy/frechet_xy`
    (against the first `num_samples` training points); only for toy 2-D data. Under DDP each rank draws its share
    (z by sample index, as for FID), the counts are summed and the Frechet distance reduced across ranks."""

    config_key = "toy_metrics.every_n_g_steps"

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = 2500, seed: int = 0):
        super().__init__(every_n_g_steps)
        self.num_samples, self.seed = num_samples, seed

    def on_schedule(self, trainer, pl_module) -> None:
        datamodule = trainer.datamodule
        if not isinstance(datamodule, Toy2DDataModule):
            return  # the toy protocol needs known modes; image data is measured by FIDCallback
        start, stop = rank_share(self.num_samples, trainer.global_rank, trainer.world_size)
        samples = pl_module.sample(latents_for_indices(start, stop, pl_module.hparams.latent_dim, self.seed))
        counts = trainer.strategy.reduce(high_quality_counts(samples, datamodule.modes, datamodule.mode_std), reduce_op="sum")
        metrics = {f"toy/{k}": v for k, v in mode_statistics_from_counts(counts, self.num_samples).items()}
        # Rank 0 alone holds the real side, so the cross-rank reduction in compute counts it once (as in FIDCallback).
        real = fid_features_to_statistics(datamodule.train_samples[: self.num_samples]) if trainer.is_global_zero else None
        metrics["toy/frechet_xy"] = float(fid_metric(real, samples.float()).compute())
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=pl_module.g_step)
