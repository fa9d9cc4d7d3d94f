"""What multi-process training of a GAN needs beyond Lightning's DDP defaults."""

import torch
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


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def gather_rng_states() -> list[dict]:
    """Every rank's RNG state, indexed by rank (z and penalty interpolation draw from it)."""
    if not (dist.is_available() and dist.is_initialized()):
        return [_rng_state()]
    states = [None] * dist.get_world_size()
    dist.all_gather_object(states, _rng_state())
    return states


def restore_rng_states(states: list[dict]) -> None:
    """Restore this rank's RNG state (rank 0's when the run resumes on more processes than it saved)."""
    rank = dist.get_rank() if dist.is_available() and dist.is_initialized() else 0
    state = states[rank] if rank < len(states) else states[0]
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
