"""The schedule every periodic callback shares: every N generator steps and once more at the end of training."""

import pytorch_lightning as pl

from lightning_gans.errors import require


class EveryNGeneratorSteps(pl.Callback):
    """Calls `on_schedule(trainer, pl_module)` when the generator step reaches a multiple of `every_n_g_steps`
    and at the end of training, never twice for one step. `config_key` names the setting in error messages."""

    config_key = "every_n_g_steps"

    def __init__(self, every_n_g_steps: int):
        require(every_n_g_steps >= 1, self.config_key, every_n_g_steps, "use an integer >= 1")
        self.every_n_g_steps = every_n_g_steps
        self.last_run_at = None

    def on_schedule(self, trainer, pl_module) -> None:
        raise NotImplementedError

    def run(self, trainer, pl_module) -> None:
        self.last_run_at = pl_module.progress.g_step
        self.on_schedule(trainer, pl_module)

    def on_train_start(self, trainer, pl_module):
        # A resumed run has had this step's turn before its checkpoint was written (checkpoints are written last);
        # the critic steps that follow the resume would otherwise repeat it.
        self.last_run_at = pl_module.progress.g_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        step = pl_module.progress.g_step
        if step > 0 and step % self.every_n_g_steps == 0 and step != self.last_run_at:
            self.run(trainer, pl_module)

    def on_train_end(self, trainer, pl_module):
        if pl_module.progress.g_step != self.last_run_at:
            self.run(trainer, pl_module)
