"""Callbacks that inject faults into CLI runs (the DDP tests load them by class path in every process)."""

import pytorch_lightning as pl


class RaiseOnRank(pl.Callback):
    """Raises RuntimeError on one rank once the generator reaches `g_step`."""

    def __init__(self, rank: int, g_step: int):
        self.rank, self.g_step = rank, g_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.global_rank == self.rank and pl_module.g_step >= self.g_step:
            raise RuntimeError(f"injected failure on rank {self.rank} at generator step {pl_module.g_step}")
