"""Progress of an evaluation's long loops (samples generated, features extracted) as a tqdm bar on stderr, shown
only when asked for: training shows it with its own bar, `lightning-gans evaluate` on rank 0."""

from typing import Iterable, Iterator

import torch
from tqdm import tqdm


def counted(batches: Iterable[torch.Tensor], total: int, description: str, show: bool) -> Iterator[torch.Tensor]:
    """Yield `batches`, counting their rows towards `total` under `description` when `show`; the bar is removed
    when the loop ends."""
    with tqdm(total=total, desc=description, unit="img", disable=not show, leave=False, dynamic_ncols=True) as bar:
        for batch in batches:
            yield batch
            bar.update(len(batch))
