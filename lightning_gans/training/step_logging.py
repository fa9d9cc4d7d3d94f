"""The training statistics to the loggers every `trainer.log_every_n_steps` generator steps, at step = g_step: the
only place a training step's device values are read, besides the progress bar's refreshes (`training.progress`).

The technique records what it measures into its `stats` window (`StatsWindow`, like stylegan2-ada's
`training_stats`): each key is logged as its mean over the steps that measured it since the last logging step, and
a lazily applied penalty is absent where it was not computed (Lightning's `self.log` would repeat its last value).
"""

from typing import Optional

import pytorch_lightning as pl

from lightning_gans.training.contract import GANModule, ProgressMark
from lightning_gans.training.diagnostics import learning_rates


class StepLogging(pl.Callback):
    """Flushes the technique's `stats` to `trainer.loggers` with the counters (`progress/g_step`, `progress/kimg`),
    `perf/img_per_s` over the window, `progress/wall_time_s` and the learning rates (`lr/g`, `lr/d`), every
    `trainer.log_every_n_steps` generator steps and at the step that reaches the budget. A technique adds it
    itself (`GANTechnique.configure_callbacks`)."""

    def __init__(self):
        self.window_start: Optional[ProgressMark] = None
        self.last_g_step: Optional[int] = None

    def on_train_start(self, trainer, pl_module: GANModule) -> None:
        self.last_g_step = pl_module.progress.g_step

    def on_train_batch_end(self, trainer, pl_module: GANModule, outputs, batch, batch_idx) -> None:
        progress = pl_module.progress
        if progress.g_step == self.last_g_step:
            return  # a critic step that no generator step followed
        self.last_g_step = progress.g_step
        if self.window_start is None:  # the first window opens after the session's first generator step (warm-up)
            self.window_start = progress.mark()
        if progress.g_step % trainer.log_every_n_steps and not pl_module.budget.reached(progress.g_step,
                                                                                         progress.images_seen):
            return
        pl_module.check_divergence(f"the log of generator step {progress.g_step}")
        metrics = pl_module.stats.flush(lambda t: trainer.strategy.reduce(t, reduce_op="mean"))
        metrics.update({"progress/g_step": progress.g_step, "progress/kimg": progress.kimg,
                        "perf/img_per_s": progress.images_per_second(self.window_start)})
        metrics.update(learning_rates(dict(zip(("g", "d"), trainer.optimizers))))
        metrics["progress/wall_time_s"] = progress.clock.seconds()
        self.window_start = progress.mark()
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=progress.g_step)
