"""The divergence guard: a non-finite loss or penalty never reaches the weights, so no checkpoint holds it."""

from typing import Callable

import torch
from pytorch_lightning.utilities import rank_zero_warn

from lightning_gans.errors import TrainingDiverged


class DivergenceGuard:
    """Checks the terms of each update before it is taken. A non-finite term on any process skips that update on
    every process while fewer than `max_skips` have been skipped, and otherwise stops training (TrainingDiverged,
    on every process together). `skips` is saved with the checkpoint (`nonfinite_skips`)."""

    def __init__(self, max_skips: int = 0):
        self.max_skips = max_skips
        self.skips = 0

    def allows_update(self, terms: dict[str, torch.Tensor], where: Callable[[], str],
                      any_process: Callable[[bool], bool] = lambda flag: flag) -> bool:
        """True when every term is finite on every process. `where()` names the step in messages; `any_process`
        is True on every process when it is True on one (the strategy's `reduce_boolean_decision`)."""
        finite = torch.stack([torch.isfinite(value.detach()).all() for value in terms.values()]).tolist()  # one sync
        names = [key for key, ok in zip(terms, finite) if not ok]
        if not any_process(bool(names)):
            return True
        self.skips += 1
        what = ", ".join(names) or "a term on another process"
        if self.skips <= self.max_skips:
            rank_zero_warn(f"{what} not finite at {where()}: update skipped ({self.skips} so far)")
            return False
        raise TrainingDiverged(
            f"{what} not finite at {where()}: training stopped and the last good checkpoint kept; lower the "
            "learning rates, or allow skips with model.max_nonfinite_skips"
        )
