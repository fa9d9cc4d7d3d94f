"""This process's rank and sums over processes, through torch.distributed when a process group is up (Lightning's
DDP, torchrun) and as a single process otherwise. Evaluation and the data stream use it without a Trainer."""

import torch
import torch.distributed as dist


def distributed() -> bool:
    return dist.is_available() and dist.is_initialized()


def rank_and_world_size() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 without torch.distributed)."""
    return (dist.get_rank(), dist.get_world_size()) if distributed() else (0, 1)


def all_reduce_sum(tensor: torch.Tensor) -> torch.Tensor:
    """The sum of `tensor` over all processes (a new tensor; `tensor` itself on one process)."""
    if not distributed():
        return tensor
    total = tensor.clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total


def barrier() -> None:
    """Wait for every process (nothing to wait for on one)."""
    if distributed():
        dist.barrier()
