"""Callbacks that inject faults into CLI runs (the DDP tests load them by class path in every process)."""

import time

import pytorch_lightning as pl


class RaiseOnRank(pl.Callback):
    """Raises RuntimeError on one rank once the generator reaches `g_step`."""

    def __init__(self, rank: int, g_step: int):
        self.rank, self.g_step = rank, g_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_rank == self.rank and pl_module.g_step >= self.g_step:
            raise RuntimeError(f"injected failure on rank {self.rank} at generator step {pl_module.g_step}")


class PauseUntilSignal(pl.Callback):
    """Holds the run at the end of generator step `g_step` until a signal has arrived (Lightning then stops it at
    that step), so a test's signal lands at a known step however fast or slow the machine is."""

    def __init__(self, g_step: int):
        self.g_step = g_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        while pl_module.g_step == self.g_step and not trainer.received_sigterm:
            time.sleep(0.05)


class NaNBatchOnRank(pl.Callback):
    """Makes one rank's real batch NaN at critic step `d_step` (the other ranks' batches stay finite)."""

    def __init__(self, rank: int, d_step: int):
        self.rank, self.d_step = rank, d_step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_rank == self.rank and pl_module.d_step == self.d_step:
            batch.fill_(float("nan"))
