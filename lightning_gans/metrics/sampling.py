"""Latent codes indexed by sample, split across ranks: evaluation numbers that do not depend on the number of
processes (sample i gets the same z on 1 process and on N)."""

from typing import Sequence

import torch

LATENT_CHUNK = 1000  # z of sample i is row i % LATENT_CHUNK of a block seeded by (seed, i // LATENT_CHUNK)


def latents_for_indices(start: int, stop: int, latent_dim: int, seed: int) -> torch.Tensor:
    """z of samples start..stop-1: a function of the seed and the index alone, whatever the number of ranks."""
    blocks = []
    for block in range(start // LATENT_CHUNK, (stop - 1) // LATENT_CHUNK + 1) if stop > start else []:
        generator = torch.Generator().manual_seed(seed * 1_000_003 + block)
        z = torch.randn(LATENT_CHUNK, latent_dim, generator=generator)
        first = block * LATENT_CHUNK
        blocks.append(z[max(start - first, 0): min(stop - first, LATENT_CHUNK)])
    return torch.cat(blocks) if blocks else torch.empty(0, latent_dim)


def rank_share(total: int, rank: int, world_size: int) -> tuple[int, int]:
    """Sample indices [start, stop) of this rank; shares differ by at most one sample."""
    return total * rank // world_size, total * (rank + 1) // world_size


def labels_for_indices(start: int, stop: int, num_samples: int, distribution: torch.Tensor) -> torch.Tensor:
    """int64 labels of samples start..stop-1 of `num_samples`, stratified over the class frequencies
    `distribution` (C,): sample i gets the class whose cumulative-frequency interval holds (i + 0.5) / num_samples.
    A function of (i, num_samples, distribution) alone, whatever the number of ranks; each class gets
    round(num_samples * p_c) samples up to one, in blocks of consecutive indices (class 0 first)."""
    cumulative = torch.cumsum(distribution.detach().double().cpu() / distribution.sum().item(), 0)
    positions = (torch.arange(start, stop, dtype=torch.float64) + 0.5) / num_samples
    return torch.searchsorted(cumulative, positions, right=True).clamp(max=len(cumulative) - 1)


def class_grid_inputs(classes: Sequence[int], per_class: int, latent_dim: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(z, labels) of a grid with one row per class of `classes` and `per_class` columns: row r is classes[r], and
    column j has the z of sample j in every row, so a column shows what the label alone changes."""
    z = latents_for_indices(0, per_class, latent_dim, seed).repeat(len(classes), 1)
    return z, torch.tensor(list(classes), dtype=torch.int64).repeat_interleave(per_class)
