"""The training data as an infinite, resumable stream of batches.

The stream's order is a function of the seed alone: epoch e is `randperm(N)` seeded with `seed + e`, epochs are
concatenated, and every step takes the next `batch_size * world_size` samples, one slice per process. A run that
resumes at the model's `images_seen` therefore sees exactly the batches an uninterrupted run would have seen.
The samples may live on any device: the batches are indexed and converted to float where they are. With labels
(a conditional run) each batch is `(samples, labels)`, both indexed with the same indices.
"""

from typing import Iterator, NamedTuple, Optional, Union

import torch
from torch.utils.data import IterableDataset, get_worker_info

from lightning_gans.errors import require
from lightning_gans.processes import rank_and_world_size


class LabelledBatch(NamedTuple):
    """A conditional batch, `(samples, labels)`: named, because the DataLoader turns a plain tuple into a list."""

    samples: torch.Tensor
    labels: torch.Tensor


class InfiniteBatchStream(IterableDataset):
    """Yields this process's share of every global batch, forever; use with `DataLoader(stream, batch_size=None)`.

    `start` is the number of samples already consumed by all processes together (the model's `images_seen`).
    Only seeded generators are used, never the global RNG, so a resumed run stays bit-exact.
    """

    def __init__(self, samples: torch.Tensor, batch_size: int, seed: int = 0, start: int = 0,
                 labels: Optional[torch.Tensor] = None):
        require(len(samples) > 0, "number of samples", len(samples), "the dataset is empty; check data.root")
        if labels is not None and (len(labels) != len(samples) or labels.device != samples.device):
            raise ValueError(f"{len(labels)} labels on {labels.device} for {len(samples)} samples on {samples.device}")
        self.samples, self.labels, self.batch_size, self.seed, self.start = samples, labels, batch_size, seed, start
        # Read here, in the main process: DataLoader workers do not share its process group.
        self.rank, self.world_size = rank_and_world_size()

    def __iter__(self) -> Iterator[Union[torch.Tensor, LabelledBatch]]:
        # A DataLoader with workers gives each one a copy of the stream and takes batches from them in turn,
        # so worker w keeps batches w, w + num_workers, ... and the merged order is unchanged.
        worker = get_worker_info()
        worker_id, num_workers = (worker.id, worker.num_workers) if worker else (0, 1)
        for step, indices in enumerate(self._batch_indices()):
            if step % num_workers == worker_id:
                batch = to_float(self.samples[indices])
                yield batch if self.labels is None else LabelledBatch(batch, self.labels[indices])

    def _batch_indices(self) -> Iterator[torch.Tensor]:
        n, global_batch = len(self.samples), self.batch_size * self.world_size
        mine = slice(self.rank * self.batch_size, (self.rank + 1) * self.batch_size)
        epoch, offset = divmod(self.start, n)
        pending = torch.empty(0, dtype=torch.long, device=self.samples.device)
        while True:
            # Drawn on the host (the same permutation on every device), moved to the samples once per epoch.
            order = torch.randperm(n, generator=torch.Generator().manual_seed(self.seed + epoch)).to(self.samples.device)
            pending = torch.cat([pending, order[offset:]])  # a batch may span an epoch boundary
            epoch, offset = epoch + 1, 0
            while len(pending) >= global_batch:
                yield pending[:global_batch][mine]
                pending = pending[global_batch:]


def to_float(samples: torch.Tensor) -> torch.Tensor:
    """uint8 images to float in [-1, 1]; float samples (toy points) to float32 as they are."""
    if samples.dtype == torch.uint8:
        return samples.float() / 127.5 - 1
    return samples.float()

