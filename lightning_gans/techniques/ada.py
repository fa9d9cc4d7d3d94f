"""The augmentation probability p of adaptive discriminator augmentation (Karras et al. 2020, section 3).

Every `interval` critic steps the overfitting heuristic is measured over the steps since the last update and p
moves by sign(r - target) * (images shown in those steps) / (ada_kimg * 1000), so p can go from 0 to 1 in
ada_kimg thousand images. p is floored at 0 but not capped at 1, as in stylegan2-ada (`AugmentPipe` treats p
above 1 as 1). Heuristics:
- 'rt': r_t = E[sign(D(x_train))], the fraction of reals D calls real, rescaled to [-1, 1] (the paper's choice);
- 'rv': r_v = (E[D(x_train)] - E[D(x_val)]) / (E[D(x_train)] - E[D(G(z))]), with held-out reals x_val;
- 'fixed': p never moves (r_t is still measured and logged).
p itself is the AugmentPipe's buffer, which the controller adjusts in place (as stylegan2-ada's training loop does),
so it is saved and moved with the critic. Sums and counts are reduced across processes before p moves, so every rank
holds the same p. The controller's own state (the accumulators, the step counter) goes into checkpoints: resuming
continues the same schedule.
"""

from typing import Callable, Optional

import torch

from lightning_gans.errors import require
from lightning_gans.nets.augment import AugmentPipe

HEURISTICS = ("rt", "rv", "fixed")
# Accumulated sums, in this order: sign(D(train)), D(train), D(val), D(fake), and the image count.
SUMS = ("sign_train", "train", "val", "fake", "count")


class AdaController:
    def __init__(self, augment: AugmentPipe, heuristic: str = "rt", target: float = 0.6, interval: int = 4,
                 ada_kimg: float = 500):
        require(heuristic in HEURISTICS, "model.ada_heuristic", heuristic, f"choose one of {', '.join(HEURISTICS)}")
        require(interval >= 1, "model.ada_interval", interval, "use an integer >= 1 (paper: 4)")
        require(ada_kimg > 0, "model.ada_kimg", ada_kimg, "use > 0 (paper: 500, i.e. p from 0 to 1 in 500k images)")
        self.augment = augment  # the pipe whose p this controller moves
        self.heuristic, self.target, self.interval, self.ada_kimg = heuristic, target, interval, ada_kimg
        self.steps = 0  # critic steps since the last update
        self.sums = torch.zeros(len(SUMS), dtype=torch.float64)

    @property
    def p(self) -> float:
        return self.augment.p.item()

    def accumulate(self, real_scores: torch.Tensor, fake_scores: Optional[torch.Tensor] = None,
                   val_scores: Optional[torch.Tensor] = None) -> None:
        """Add one critic step's raw scores (val and fake scores are needed by 'rv' only)."""
        real = real_scores.detach().double()
        zero = real.new_zeros([])
        step = torch.stack([real.sign().sum(), real.sum(),
                            val_scores.detach().double().mean() * len(real) if val_scores is not None else zero,
                            fake_scores.detach().double().mean() * len(real) if fake_scores is not None else zero,
                            real.new_tensor(float(len(real)))])
        self.sums = self.sums.to(real.device) + step
        self.steps += 1

    def update(self, reduce_sum: Callable[[torch.Tensor], torch.Tensor] = lambda t: t
               ) -> Optional[dict[str, torch.Tensor]]:
        """After each critic step: every `interval` steps, move p and return the measured heuristics
        ({'ada/rt': ..., 'ada/rv': ...}, 0-d tensors); otherwise None. `reduce_sum` sums a tensor over processes.
        Computed on the device: nothing here waits for it."""
        if self.steps < self.interval:
            return None
        sign_train, train, val, fake, count = reduce_sum(self.sums).unbind()
        measured = {"ada/rt": sign_train / count}
        if self.heuristic == "rv":
            measured["ada/rv"] = torch.where(train != fake, (train - val) / (train - fake), 0.0)
        if self.heuristic != "fixed":
            step = torch.sign(measured[f"ada/{self.heuristic}"] - self.target)
            self.augment.p.add_(step * count / (self.ada_kimg * 1000)).clamp_(min=0.0)
        self.steps, self.sums = 0, torch.zeros_like(self.sums)
        return measured

    def state_dict(self) -> dict:
        return {"steps": self.steps, "sums": self.sums.cpu().tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.steps = state["steps"]
        self.sums = torch.tensor(state["sums"], dtype=torch.float64)
