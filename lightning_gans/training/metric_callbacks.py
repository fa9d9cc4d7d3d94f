"""The evaluation callbacks of a training run: FID/KID (and class coverage) of image runs, the toy metrics of 2-D
runs, every N generator steps and at the end, from the EMA generator. The numbers come from the run's protocol
(`metrics.protocol`), the same one `lightning-gans evaluate` reads, so a run's curve and a later evaluation agree.
Each result is logged and published on the run's `ResultsBoard`, where the best checkpoint and the summary read it.
"""

from typing import Optional

from pytorch_lightning.loggers import WandbLogger

from lightning_gans.data import ImageDataModule, Toy2DDataModule
from lightning_gans.errors import ConfigError
from lightning_gans.metrics.evaluation import label_distribution_of
from lightning_gans.metrics.protocol import FIDProtocol, ToyProtocol
from lightning_gans.training.periodic import EveryNGeneratorSteps
from lightning_gans.training.results import Evaluation, ResultsBoard


def log_metrics(trainer, pl_module, metrics: dict[str, float]) -> None:
    """To every logger at step = g_step; W&B's rows also get kimg, its charts' other axis (metrics.csv keeps
    the counters in the training rows, which the bench's report interpolates)."""
    for logger in trainer.loggers:
        row = {**metrics, "progress/kimg": pl_module.progress.kimg} if isinstance(logger, WandbLogger) else metrics
        logger.log_metrics(row, step=pl_module.progress.g_step)


def shows_progress(trainer) -> bool:
    """Evaluations show their progress where training shows its bar: rank 0, unless the bar is turned off."""
    return trainer.progress_bar_callback is not None and trainer.is_global_zero


class Evaluator(EveryNGeneratorSteps):
    """An evaluation every N generator steps whose results are logged and published on `board` (its own until the
    run gives it the shared one with `publish_to`)."""

    def __init__(self, every_n_g_steps: int):
        super().__init__(every_n_g_steps)
        self.board = ResultsBoard()

    def publish_to(self, board: ResultsBoard) -> None:
        self.board = board

    def run(self, trainer, pl_module) -> None:
        pl_module.check_divergence(f"the evaluation at generator step {pl_module.progress.g_step}")
        super().run(trainer, pl_module)

    def publish(self, trainer, pl_module, metrics: dict[str, float]) -> None:
        log_metrics(trainer, pl_module, metrics)
        self.board.publish(trainer, Evaluation(pl_module.progress.g_step, metrics))


class FIDCallback(Evaluator):
    """FID and KID (and class coverage when the extractor is a classifier; for a conditional model also the
    intra-class FID and, with a classifier, its accuracy on the samples' labels) every `every_n_g_steps` generator
    steps and at the end of training, from the EMA generator. Under DDP every rank generates its share of the
    `num_samples` fakes, updates its metric states, and calls compute; rank 0's loggers write the result. The
    other arguments are the fields of `metrics.protocol.FIDProtocol`, with its defaults.

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
        extractor: Optional[str] = FIDProtocol.extractor,
        num_samples: int = FIDProtocol.num_samples,
        reference_split: str = FIDProtocol.reference_split,
        every_n_g_steps: int = 5000,
        batch_size: int = FIDProtocol.batch_size,
        feature_extractor_weights_path: Optional[str] = FIDProtocol.feature_extractor_weights_path,
        kid_subset_size: int = FIDProtocol.kid_subset_size,
        seed: int = FIDProtocol.seed,
    ):
        self.protocol = FIDProtocol(extractor, num_samples, reference_split, batch_size, feature_extractor_weights_path,
                                    kid_subset_size, seed)
        super().__init__(every_n_g_steps)
        # Built now, so missing weights fail before any data loads or step runs; a callback's attributes are
        # not part of the LightningModule's checkpoint.
        self.extractor = self.protocol.build_extractor() if extractor else None
        self.real: Optional[dict] = None  # statistics and features of the real images, set up by `setup`

    def require_fits(self, pl_module) -> None:
        """A ConfigError when this protocol cannot measure `pl_module` (too few samples for its classes); fit checks it
        before the run directory exists."""
        if self.extractor is not None:
            self.protocol.require_class_samples(pl_module.num_classes)

    def setup(self, trainer, pl_module, stage):
        if self.extractor is None:
            return
        datamodule = trainer.datamodule
        if not isinstance(datamodule, ImageDataModule):
            raise ConfigError("fid.extractor needs image data", "set fid.extractor=null for toy data (toy metrics apply)")
        self.extractor.to(pl_module.device)
        self.real = self.protocol.reference(datamodule, pl_module.num_classes).load_or_compute_once(
            self.extractor, self.protocol.batch_size, pl_module.device, shows_progress(trainer))

    def on_schedule(self, trainer, pl_module):
        if self.extractor is None:
            return
        self.publish(trainer, pl_module, self.protocol.measure(pl_module.sample, self.extractor, self.real,
                                                               pl_module.latent_dim, pl_module.device,
                                                               shows_progress(trainer), label_distribution_of(pl_module),
                                                               trainer.datamodule.dataset))


class ToyMetrics(Evaluator):
    """Mode statistics of `num_samples` EMA-generator samples every `every_n_g_steps` generator steps and at the
    end (`metrics.evaluation.toy_metrics`), only for toy 2-D data; the real side of `toy/frechet_xy` is the first
    `num_samples` training points. `num_samples` and `seed` are `metrics.protocol.ToyProtocol`'s fields."""

    config_key = "toy_metrics.every_n_g_steps"

    def __init__(self, every_n_g_steps: int = 500, num_samples: int = ToyProtocol.num_samples,
                 seed: int = ToyProtocol.seed):
        super().__init__(every_n_g_steps)
        self.protocol = ToyProtocol(num_samples, seed)

    def on_schedule(self, trainer, pl_module) -> None:
        data = trainer.datamodule
        if not isinstance(data, Toy2DDataModule):
            return  # the toy protocol needs known modes; image data is measured by FIDCallback
        self.publish(trainer, pl_module, self.protocol.measure(pl_module.sample, data, pl_module.latent_dim,
                                                               label_distribution_of(pl_module)))
