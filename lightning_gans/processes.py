"""This process's rank, sums and concatenations over processes, through torch.distributed when a process group is up (Lightning's
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


def all_gather_rows(tensor: torch.Tensor) -> torch.Tensor:
    """The rows of `tensor` from every process, concatenated in rank order (`tensor` itself on one process).
    Processes may hold different numbers of rows, none included; the other dimensions must agree."""
    if not distributed():
        return tensor
    world_size = dist.get_world_size()
    counts = [torch.zeros((), dtype=torch.long, device=tensor.device) for _ in range(world_size)]
    dist.all_gather(counts, torch.tensor(len(tensor), device=tensor.device))
    longest = int(max(counts))  # all_gather needs one shape: pad to the longest, then cut each back
    padded = torch.cat([tensor, tensor.new_zeros(longest - len(tensor), *tensor.shape[1:])])
    gathered = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded)
    return torch.cat([rows[:int(count)] for rows, count in zip(gathered, counts)])


def barrier() -> None:
    """Wait for every process (nothing to wait for on one)."""
    if distributed():
        dist.barrier()
