"""Latent codes indexed by sample, split across ranks: evaluation numbers that do not depend on the number of
processes (sample i gets the same z on 1 process and on N)."""

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
