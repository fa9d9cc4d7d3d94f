"""The evaluation callbacks of a training run: FID/KID (and class coverage) of image runs, the toy metrics of 2-D
runs, every N generator steps and at the end, from the EMA generator. The numbers come from `metrics.evaluation`,
the same functions `lightning-gans evaluate` calls, so a run's curve and a later evaluation agree.
"""

from typing import Optional

from pytorch_lightning.loggers import WandbLogger

from lightning_gans.data import ImageDataModule, Toy2DDataModule
from lightning_gans.errors import ConfigError, require
from lightning_gans.metrics import build_feature_extractor
from lightning_gans.metrics.evaluation import image_metrics, toy_metrics
from lightning_gans.metrics.reference import RealStatistics
from lightning_gans.training.checkpoints import KeepsBestCheckpoint


def log_metrics(trainer, pl_module, metrics: dict[str, float]) -> None:
    """To every logger at step = g_step; W&B's rows also get kimg, its charts' other axis (metrics.csv keeps
    the counters in the training rows, which bench_report interpolates)."""
    for logger in trainer.loggers:
        row = {**metrics, "progress/kimg": pl_module.images_seen / 1000} if isinstance(logger, WandbLogger) else metrics
        logger.log_metrics(row, step=pl_module.g_step)


def shows_progress(trainer) -> bool:
    """Evaluations show their progress where training shows its bar: rank 0, unless the bar is turned off."""
    return trainer.progress_bar_callback is not None and trainer.is_global_zero


class FIDCallback(KeepsBestCheckpoint):
    """FID and KID (and class coverage when the extractor is a classifier) every `every_n_g_steps` generator
    steps and at the end of training, from the EMA generator; `checkpoints/best.ckpt` holds the lowest FID.
    Under DDP every rank generates its share of the `num_samples` fakes, updates its metric states, and calls
    compute; rank 0's loggers write the result.

    Args:
        extractor: a name from `metrics.FEATURE_EXTRACTORS` (inception, lenet-fmnist, ...); null
            turns the evaluation off.
        num_samples: fakes per evaluation (10k by default; 50k for paper-comparable numbers); the real side
            uses as many images of `reference_split` (all of it when it is smaller).
        reference_split: train or test.
        feature_extractor_weights_path: local weights file of the extractor (also LIGHTNING_GANS_INCEPTION_WEIGHTS
            for inception).
        seed: seeds the latent codes (sample i has the same z on any number of ranks), KID's subsets and the
            choice of `num_samples` real images from a larger split.
    """

    config_key = "fid.every_n_g_steps"

    def __init__(
        self,
        extractor: Optional[str] = None,
        num_samples: int = 10_000,
        reference_split: str = "train",
        every_n_g_steps: int = 5000,
        batch_size: int = 250,
        feature_extractor_weights_path: Optional[str] = None,
        kid_subset_size: int = 1000,
        seed: int = 0,
    ):
        require(num_samples >= 2, "fid.num_samples", num_samples, "use an integer >= 2 (10000 is the usual)")
        require(reference_split in ("train", "test"), "fid.reference_split", reference_split, "choose train or test")
        require(batch_size >= 1, "fid.batch_size", batch_size, "use an integer >= 1")
        self.extractor_name, self.num_samples, self.reference_split = extractor, num_samples, reference_split
        super().__init__(every_n_g_steps)
        self.batch_size, self.seed = batch_size, seed
        self.kid_subset_size = kid_subset_size
        # Built now, so missing weights fail before any data loads or step runs; a callback's attributes are
        # not part of the LightningModule's checkpoint.
        self.extractor = build_feature_extractor(extractor, feature_extractor_weights_path) if extractor else None
        self.real: Optional[dict] = None  # statistics and features of the real images, set up by `setup`

    def setup(self, trainer, pl_module, stage):
        if self.extractor is None:
            return
        datamodule = trainer.datamodule
        if not isinstance(datamodule, ImageDataModule):
            raise ConfigError("fid.extractor needs image data", "set fid.extractor=null for toy data (toy metrics apply)")
        reference = RealStatistics(datamodule.dataset, datamodule.root, self.reference_split, datamodule.resolution,
                                   self.num_samples, self.seed)
        self.extractor.to(pl_module.device)
        self.real = reference.load_or_compute_once(self.extractor, self.batch_size, pl_module.device,
                                                   shows_progress(trainer))

    def on_schedule(self, trainer, pl_module):
        if self.extractor is None:
            return
        metrics = image_metrics(pl_module.sample, self.extractor, self.real, self.reference_split, self.num_samples,
                                pl_module.hparams.latent_dim, self.seed, self.batch_size, self.kid_subset_size,
                                pl_module.device, shows_progress(trainer))
        log_metrics(trainer, pl_module, metrics)
        self.keep_if_best(trainer, metrics)

    @staticmethod
    def rank(metrics: dict[str, float]) -> tuple[float, ...]:
        """The FID of the run's protocol (one `fid/...` key per evaluation)."""
        return tuple(value for key, value in metrics.items() if key.startswith("fid/"))


class ToyMetrics(KeepsBestCheckpoint):
    """Mode statistics of `num_samples` EMA-generator samples every `every_n_g_steps` generator steps and at the
    end (`metrics.evaluation.toy_metrics`), only for toy 2-D data; the real side of `toy/frechet_xy` is the first
    `num_samples` training points. `checkpoints/best.ckpt` holds the best by `rank`."""

    config_key = "toy_metrics.every_n_g_steps"

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = 2500, seed: int = 0):
        super().__init__(every_n_g_steps)
        self.num_samples, self.seed = num_samples, seed

    def on_schedule(self, trainer, pl_module) -> None:
        data = trainer.datamodule
        if not isinstance(data, Toy2DDataModule):
            return  # the toy protocol needs known modes; image data is measured by FIDCallback
        metrics = toy_metrics(pl_module.sample, data.modes, data.mode_std, data.train_samples, self.num_samples,
                              pl_module.hparams.latent_dim, self.seed)
        log_metrics(trainer, pl_module, metrics)
        self.keep_if_best(trainer, metrics)

    @staticmethod
    def rank(metrics: dict[str, float]) -> tuple[float, ...]:
        """Most modes covered, then most high-quality samples, then the lowest reverse KL."""
        return -metrics["toy/modes_covered"], -metrics["toy/high_quality"], metrics["toy/reverse_kl"]
