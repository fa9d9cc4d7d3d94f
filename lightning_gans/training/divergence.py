"""The divergence guard: a non-finite loss or penalty never reaches the weights, so no checkpoint holds it, and the
training step never waits for the device to find out.

Per update, everything is decided on the device (`guarded_loss`, then `skip_nonfinite_update`):
- the loss handed to backward is multiplied by 1, or by NaN when any of the update's terms is not finite, so a broken
  term makes the gradients NaN; under DDP the gradient all-reduce then carries them to every process;
- after backward, an update whose gradients are not all finite has them zeroed (on every process alike, since the
  gradients are the same there), and the skip is counted in a device tensor. The optimiser still steps on the
  zeroed gradients: with Adam's beta1 = 0 (every preset here) or RMSprop the parameters then stay exactly as they
  were; Adam's step counter still advances and its second moments decay by beta2, and with beta1 > 0 the parameters
  move by the decayed first moment, never by the broken gradient, so they stay finite.
The host reads the count only at check points (`check`: the logging steps, before every checkpoint, and at the end
of training), and stops training there (TrainingDiverged) once more than `max_skips` updates have been skipped,
naming the term and the step of the first update beyond them (recorded on the device when it happened).
"""

from typing import Callable, Optional

import torch
from pytorch_lightning.utilities import rank_zero_warn

from lightning_gans.errors import TrainingDiverged

ELSEWHERE = "a gradient, or a term on another process,"  # a skip that no term of this process caused


class DivergenceGuard:
    """Skips every update with a non-finite term or gradient (see the module's docstring) and stops training at the
    first check point after more than `max_skips` were skipped. `skips` is saved with the checkpoint
    (`nonfinite_skips`)."""

    def __init__(self, max_skips: int = 0):
        self.max_skips = max_skips
        self.updates = 0  # updates guarded so far in this session (host)
        self._skips_before = 0  # skips of the earlier sessions, from the checkpoint
        self._count: Optional[torch.Tensor] = None  # skips, on the device
        self._stop_update: Optional[torch.Tensor] = None  # the update that went beyond max_skips (-1: none yet)
        self._stop_term: Optional[torch.Tensor] = None  # the index of its first non-finite term
        self._where: dict[int, tuple[str, tuple[str, ...]]] = {}  # update -> (its step, its terms) since the last check
        self._pending: Optional[torch.Tensor] = None  # the terms' finiteness of the update being guarded
        self.warned = 0  # skips already reported

    # ------------------------------------------------------------------------------------ per update (no sync)
    def guarded_loss(self, terms: dict[str, torch.Tensor], loss: str, where: str) -> torch.Tensor:
        """`terms[loss]` times 1, or times NaN when any term is not finite; `where` names the update's step."""
        finite = torch.stack([torch.isfinite(value.detach()).all() for value in terms.values()])
        self._pending = finite
        self._where[self.updates] = (where, tuple(terms))
        return terms[loss] * torch.where(finite.all(), 1.0, float("nan")).to(terms[loss].dtype)

    def skip_nonfinite_update(self, parameters) -> None:
        """After backward: zero the gradients of `parameters` unless they are all finite, and count the skip."""
        grads = [p.grad for p in parameters if p.grad is not None]
        local_terms = self._pending
        self._materialise(local_terms.device)
        finite = local_terms.all()
        if grads:
            finite = finite & torch.stack([torch.isfinite(g).all() for g in grads]).all()
        for grad in grads:
            grad.masked_fill_(~finite, 0.0)
        # The first non-finite term of this process, or len(terms) when none of its terms broke.
        first = torch.where(local_terms.all(), len(local_terms), (~local_terms).int().argmax())
        beyond = ~finite & (self._count + self._skips_before >= self.max_skips) & (self._stop_update < 0)
        self._stop_update = torch.where(beyond, self.updates, self._stop_update)
        self._stop_term = torch.where(beyond, first, self._stop_term)
        self._count += ~finite
        self.updates += 1

    def _materialise(self, device: torch.device) -> None:
        if self._count is None:
            self._count = torch.zeros((), dtype=torch.int64, device=device)
            self._stop_update = torch.full((), -1, dtype=torch.int64, device=device)
            self._stop_term = torch.zeros((), dtype=torch.int64, device=device)

    # ------------------------------------------------------------------------------------ at check points
    @property
    def skips(self) -> int:
        """Updates skipped in this run, resumed sessions included (a synchronisation: read at check points)."""
        return self._skips_before + (0 if self._count is None else int(self._count))

    @skips.setter
    def skips(self, value: int) -> None:
        """Resuming: the skips of the earlier sessions."""
        self._skips_before, self._count, self.warned = value, None, value

    def check(self, at: str, any_process_max: Callable[[torch.Tensor], torch.Tensor] = lambda t: t) -> None:
        """Raise TrainingDiverged when more than `max_skips` updates were skipped; warn about new skips.
        `any_process_max` takes the maximum over processes (the counts agree; this keeps every process deciding
        alike); `at` names the check point in the warning."""
        if self._count is None:
            return
        # The lowest term index over processes: a process whose own terms were finite holds len(terms).
        count, stop_update, stop_term = any_process_max(torch.stack(
            [self._count, self._stop_update, -self._stop_term])).tolist()
        stop_term = -stop_term
        skips = self._skips_before + count
        if stop_update >= 0:
            where, names = self._where[stop_update]
            what = names[stop_term] if stop_term < len(names) else ELSEWHERE
            raise TrainingDiverged(
                f"{what} not finite at {where}: training stopped and the last good checkpoint kept; lower the "
                "learning rates, or allow skips with model.max_nonfinite_skips"
            )
        if skips > self.warned:
            rank_zero_warn(f"{skips - self.warned} update(s) with a non-finite term or gradient skipped before {at} "
                           f"({skips} so far, model.max_nonfinite_skips {self.max_skips})")
            self.warned = skips
        self._where.clear()
