"""Training statistics averaged over a logging window, like stylegan2-ada's `training_stats`.

Lightning's `self.log` repeats a key's last value in every later row until it is logged again, which would
report a lazily applied penalty at steps where it was not computed. Here each key is the mean over the steps
that measured it since the last report, and keys with no measurement are left out.
"""

from collections import defaultdict
from typing import Callable

import torch


class StatsWindow:
    def __init__(self):
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = defaultdict(int)

    def record(self, terms: dict[str, torch.Tensor]) -> None:
        """Add one measurement of each term; stays on the device (no synchronisation per step)."""
        for key, value in terms.items():
            value = value.detach().float()
            self._sums[key] = self._sums[key] + value if key in self._sums else value
            self._counts[key] += 1

    def flush(self, reduce_mean: Callable[[torch.Tensor], torch.Tensor] = lambda t: t) -> dict[str, float]:
        """Means since the last flush, averaged over processes by `reduce_mean`; then starts a new window.

        Every process must record the same keys (they run the same code path), since the reduction is collective."""
        keys = sorted(self._sums)
        if not keys:
            return {}
        means = torch.stack([self._sums[key] / self._counts[key] for key in keys])
        means = reduce_mean(means).tolist()
        self._sums.clear()
        self._counts.clear()
        return dict(zip(keys, means))
