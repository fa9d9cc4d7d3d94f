"""Periodic checkpoints counted in generator steps, written atomically, and a resumable checkpoint on SIGTERM and
SIGINT. (`best.ckpt` is `best_checkpoint.py`'s; a checkpoint is read before training by `run.checkpoint`.)"""

import os
import signal
import sys
import threading
from pathlib import Path

import torch
from pytorch_lightning.callbacks import Checkpoint
from pytorch_lightning.utilities.exceptions import SIGTERMException

from lightning_gans.errors import TrainingDiverged
from lightning_gans.run.checkpoint import CheckpointInfo
from lightning_gans.run.layout import RunLayout, checkpoint_file, step_name
from lightning_gans.training.periodic import EveryNGeneratorSteps


def write_checkpoint(trainer, path: Path, link_as: str | None = None) -> None:
    """Every rank calls this (RNG states are gathered); rank 0 writes via a temporary file and a rename, so a crash
    mid-write never replaces a good file; `link_as` names a second link to the same file in its directory. A run that
has diverged (`GANModule.check_divergence`) raises TrainingDiverged instead."""
    trainer.lightning_module.check_divergence(f"checkpoint {path.name}")  # no checkpoint after a divergence
    tmp = path.with_suffix(".ckpt.tmp")
    trainer.save_checkpoint(tmp, weights_only=False)  # the full state: optimizers and callbacks resume too
    if trainer.is_global_zero:
        if link_as:
            (path.parent / link_as).unlink(missing_ok=True)
            os.link(tmp, path.parent / link_as)
        os.replace(tmp, path)
    trainer.strategy.barrier("lightning_gans_checkpoint")


class GANCheckpoint(EveryNGeneratorSteps, Checkpoint):
    """Writes `last.ckpt` and `g<step>.ckpt` into `dirpath` every `every_n_g_steps` generator steps and at the
    end of training. Lightning's ModelCheckpoint counts optimizer steps, which mixes D and G updates. As a
    `Checkpoint`, Lightning runs it after the other callbacks, so a checkpoint holds their state of this step."""

    config_key = "checkpoint.every_n_g_steps"

    def __init__(self, dirpath: str | None = None, every_n_g_steps: int = 1000):
        super().__init__(every_n_g_steps)
        self.dirpath = dirpath

    def setup(self, trainer, pl_module, stage):
        if self.dirpath is None:
            self.dirpath = str(RunLayout(Path(trainer.default_root_dir)).checkpoints)

    def on_schedule(self, trainer, pl_module):
        step = pl_module.progress.g_step
        periodic = step % self.every_n_g_steps == 0  # the end of training is not a periodic step
        self.save(trainer, checkpoint_file(step_name(step)) if periodic else None)

    # Pre-emption: Lightning turns SIGTERM into a SIGTERMException at the next step boundary (on every rank
    # under DDP); Ctrl+C is routed the same way, so both leave a resumable checkpoint. The exception is tagged
    # with the signal (`signum`), so the command exits 128 + signal: 130 for Ctrl+C, 143 for SIGTERM.
    def on_fit_start(self, trainer, pl_module):
        self._previous_sigint, self.stopped_by = None, signal.SIGTERM
        if threading.current_thread() is threading.main_thread():
            self._previous_sigint = signal.signal(signal.SIGINT, self.on_sigint)

    def on_sigint(self, signum, frame):
        self.stopped_by = signal.SIGINT
        os.kill(os.getpid(), signal.SIGTERM)

    def on_fit_end(self, trainer, pl_module):
        self.restore_sigint()

    def on_exception(self, trainer, pl_module, exception):
        self.restore_sigint()
        if isinstance(exception, SIGTERMException):
            exception.signum = self.stopped_by
            path = self.save(trainer, None)
            if trainer.is_global_zero:
                name = "Ctrl+C" if self.stopped_by == signal.SIGINT else "SIGTERM"
                print(f"lightning-gans: stopped by a signal ({name}) at generator step {pl_module.progress.g_step}; resume from "
                      f"{path} with --ckpt_path, or --resume auto", file=sys.stderr)

    def restore_sigint(self):
        if getattr(self, "_previous_sigint", None) is not None:
            signal.signal(signal.SIGINT, self._previous_sigint)
            self._previous_sigint = None

    def save(self, trainer, periodic_name):
        """`last.ckpt` (and `periodic_name`) via `write_checkpoint`. Non-finite parameters are never written."""
        pl_module = trainer.lightning_module
        if not all(torch.isfinite(p).all() for p in pl_module.parameters()):
            raise TrainingDiverged(
                f"parameters not finite at generator step {pl_module.progress.g_step}: training stopped and the last good "
                f"checkpoint kept in {self.dirpath}; lower the learning rates"
            )
        last = Path(self.dirpath) / checkpoint_file("last")
        write_checkpoint(trainer, last, periodic_name)
        return last


def check_checkpoint(path: str) -> None:
    """Raise a one-line ConfigError unless `path` is a readable lightning-gans checkpoint (`CheckpointInfo.load`)."""
    CheckpointInfo.load(path)
