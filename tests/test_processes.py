"""This process's rank, sums, row gathers and the barrier (`lightning_gans.processes`): as a single process, and
in a gloo group of 2 processes on the CPU."""

from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from lightning_gans.processes import all_gather_rows, all_reduce_sum, barrier, rank_and_world_size


def test_a_single_process_is_rank_0_of_1_and_its_tensors_come_back_unchanged():
    rows = torch.arange(6.0).view(3, 2)
    assert rank_and_world_size() == (0, 1)
    assert all_reduce_sum(rows) is rows
    assert all_gather_rows(rows) is rows
    assert barrier() is None


def one_of_two_processes(rank: int, directory: Path) -> None:
    """Rank `rank` of a gloo group of 2: saves what each function gives it to `directory/rank<rank>.pt`."""
    dist.init_process_group("gloo", init_method=f"file://{directory / 'rendezvous'}", rank=rank, world_size=2)
    try:
        written_before_the_barrier = directory / "written by rank 1 before the barrier"
        if rank == 1:
            written_before_the_barrier.touch()
        barrier()
        own = torch.tensor([1.0, float(rank)])
        rows = torch.full((3 + rank, 2), float(rank))  # 3 rows on rank 0, 4 on rank 1
        torch.save({
            "rank_and_world_size": rank_and_world_size(),
            "sees_what_rank_1_wrote_before_the_barrier": written_before_the_barrier.exists(),
            "sum": all_reduce_sum(own), "own_after_the_sum": own,
            "rows": all_gather_rows(rows),
            "rows_none_on_rank_0": all_gather_rows(rows if rank else rows[:0]),
        }, directory / f"rank{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_processes_know_their_ranks_sum_gather_in_rank_order_and_meet_at_the_barrier(tmp_path):
    mp.spawn(one_of_two_processes, args=(tmp_path,), nprocs=2)
    results = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=False) for rank in (0, 1)]
    rows_of_rank_1 = torch.ones(4, 2)
    for rank, result in enumerate(results):
        assert result["rank_and_world_size"] == (rank, 2)
        assert result["sees_what_rank_1_wrote_before_the_barrier"]
        assert result["sum"].tolist() == [2.0, 1.0]
        assert result["own_after_the_sum"].tolist() == [1.0, float(rank)]  # the sum is a new tensor
        assert torch.equal(result["rows"], torch.cat([torch.zeros(3, 2), rows_of_rank_1]))  # 3 + 4 rows, rank order
        assert torch.equal(result["rows_none_on_rank_0"], rows_of_rank_1)
