"""What multi-process training of a GAN needs beyond Lightning's DDP defaults."""

import torch.distributed as dist
from pytorch_lightning.strategies import DDPStrategy


def allow_partial_backward(trainer) -> None:
    """Let DDP reduce gradients of a backward that touches only G's or only D's parameters.

    Each critic step leaves G unused and each generator step leaves D unused; plain DDP then fails with
    "parameters that were not used in producing the loss". Must run before the strategy wraps the model
    (the LightningModule's `setup` hook does).
    """
    if isinstance(trainer.strategy, DDPStrategy):
        trainer.strategy._ddp_kwargs["find_unused_parameters"] = True


def release_process_group(trainer) -> None:
    """Destroy the process group after fit: CPU (gloo) runs that skip this sometimes abort at exit (134)."""
    if isinstance(trainer.strategy, DDPStrategy) and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
