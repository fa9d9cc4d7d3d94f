"""The random number generators' state, saved with a checkpoint so that a resumed run draws the same latent
codes, interpolation points and augmentations as the run it continues."""

import torch
import torch.distributed as dist


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def gather_rng_states() -> list[dict]:
    """Every rank's RNG state, indexed by rank (every rank must call it)."""
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
