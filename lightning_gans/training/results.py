"""Where evaluations meet their readers. An evaluator (`metric_callbacks`) publishes each result on a `ResultsBoard`;
the best-checkpoint callback ranks what is published, and the run's summary reads the latest and the best from it.
The evaluators know nothing of checkpoints, and the checkpoint nothing of how a metric is computed."""

from dataclasses import dataclass
from typing import Callable, Optional


@dataclass(frozen=True)
class Evaluation:
    g_step: int
    metrics: dict[str, float]

    def as_row(self) -> dict[str, float]:
        """The metrics with their generator step, as the summary prints them and checkpoints keep them."""
        return {"g_step": self.g_step, **self.metrics}

    @classmethod
    def from_row(cls, row: dict[str, float]) -> "Evaluation":
        metrics = dict(row)
        return cls(metrics.pop("g_step"), metrics)


Listener = Callable[[object, Evaluation], None]  # (trainer, evaluation)


class ResultsBoard:
    """The latest evaluation of this session, the best of the run (set by whoever ranks), and the listeners told of
    each new evaluation, in the order they subscribed."""

    def __init__(self):
        self.latest: Optional[Evaluation] = None
        self.best: Optional[Evaluation] = None
        self.listeners: list[Listener] = []

    def subscribe(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def publish(self, trainer, evaluation: Evaluation) -> None:
        self.latest = evaluation
        for listener in self.listeners:
            listener(trainer, evaluation)
