"""A callback for the DDP tests: every rank saves its own G and D weights (and ADA's p) at the end of training."""

from pathlib import Path

import pytorch_lightning as pl
import torch


class SaveRankWeights(pl.Callback):
    def __init__(self, dirpath: str):
        self.dirpath = dirpath

    def on_train_end(self, trainer, pl_module):
        Path(self.dirpath).mkdir(parents=True, exist_ok=True)
        weights = {k: v.detach().cpu() for k, v in pl_module.state_dict().items()}
        if hasattr(pl_module, "ada"):  # StyleGANADA: the augmentation probability must agree too
            weights["ada.p"] = pl_module.ada.p
        torch.save(weights, Path(self.dirpath) / f"rank{trainer.global_rank}.pt")
