"""`checkpoints/best.ckpt`: one callback ranks every evaluation published on the run's `ResultsBoard` and writes the
checkpoint when one improves on the best so far. The best rank and metrics are part of the callback's state, so they
survive a resume and a resumed run continues the comparison."""

import math
import os
from pathlib import Path
from typing import Optional

import pytorch_lightning as pl

from lightning_gans.metrics.keys import MetricKey
from lightning_gans.run.layout import RunLayout, checkpoint_file
from lightning_gans.training.checkpoints import write_checkpoint
from lightning_gans.training.loggers import summarize
from lightning_gans.training.results import Evaluation, ResultsBoard

# What "best" means, by the metrics an evaluation holds: the first rule whose metrics are all there ranks it, by each
# (metric name, goal) in turn. Image runs: the FID of the run's protocol. Toy runs: most modes covered, then most
# high-quality samples, then the lowest reverse KL.
BEST_BY = (
    (("fid", "min"),),
    (("toy/modes_covered", "max"), ("toy/high_quality", "max"), ("toy/reverse_kl", "min")),
)


def rank(metrics: dict[str, float]) -> Optional[tuple[float, ...]]:
    """The evaluation's rank under `BEST_BY` (a tuple, lower is better, compared in order); None when no rule applies."""
    by_name = {MetricKey.parse(key).name: value for key, value in metrics.items()}
    for rule in BEST_BY:
        if all(name in by_name for name, _ in rule):
            return tuple(by_name[name] if goal == "min" else -by_name[name] for name, goal in rule)
    return None


class BestCheckpoint(pl.Callback):
    """Writes best.ckpt beside the other checkpoints whenever an evaluation published on `board` ranks better than
    every earlier one (NaN never does), and puts it on the board as the run's best."""

    def __init__(self, board: ResultsBoard):
        self.board = board
        self.best_rank: Optional[list[float]] = None
        board.subscribe(self.consider)

    def consider(self, trainer, evaluation: Evaluation) -> None:
        new = rank(evaluation.metrics)
        if new is None or any(math.isnan(value) for value in new) or (
                self.best_rank is not None and new >= tuple(self.best_rank)):
            return
        self.best_rank, self.board.best = list(new), evaluation
        dirpath = getattr(trainer.checkpoint_callback, "dirpath", None) or RunLayout(Path(trainer.default_root_dir)).checkpoints
        os.makedirs(dirpath, exist_ok=True)
        write_checkpoint(trainer, Path(dirpath) / checkpoint_file("best"))
        if trainer.is_global_zero:
            summarize(trainer.loggers, {f"best/{key}": value for key, value in evaluation.as_row().items()})

    def state_dict(self) -> dict:
        return {"best": self.best_rank, "best_metrics": self.board.best.as_row() if self.board.best else {}}

    def load_state_dict(self, state_dict: dict) -> None:
        self.best_rank = state_dict["best"]
        best_metrics = state_dict.get("best_metrics")
        self.board.best = Evaluation.from_row(best_metrics) if best_metrics else None
