"""The words at the end of a run: where it wrote, its final and best metrics, its checkpoints, and the commands
that show the results."""

import time

from pytorch_lightning.loggers import TensorBoardLogger

from lightning_gans.run.layout import RunLayout
from lightning_gans.training.loggers import FinishingWandbLogger
from lightning_gans.training.results import ResultsBoard


def format_metrics(metrics: dict[str, float]) -> str:
    """`(G step N) key value, ...` with 4 significant digits."""
    values = ", ".join(f"{key} {value:.4g}" for key, value in metrics.items() if key != "g_step")
    return f"(G step {metrics['g_step']}) {values}" if "g_step" in metrics else values


def viewing_commands(loggers) -> list[str]:
    """How to look at what the loggers wrote (`tensorboard --logdir`, `wandb sync` or the W&B URL)."""
    commands = []
    for logger in loggers:
        if isinstance(logger, TensorBoardLogger):
            commands.append(f"tensorboard --logdir {logger.log_dir}")
        elif isinstance(logger, FinishingWandbLogger) and logger.view:
            commands.append(logger.view)
    return commands


def fit_summary(trainer, run: RunLayout, results: ResultsBoard) -> str:
    """The summary of a finished fit, one item a line; the metrics are those published on `results`."""
    module = trainer.lightning_module
    lines = [f"lightning-gans: {module.name} trained to generator step {module.progress.g_step} ({module.progress.kimg:.1f} "
             f"kimg) in {time.strftime('%H:%M:%S', time.gmtime(module.progress.clock.seconds()))}",
             f"  run directory  {run.root}"]
    if results.latest:
        lines.append(f"  final metrics  {format_metrics(results.latest.as_row())}")
    if results.best:
        lines.append(f"  best metrics   {format_metrics(results.best.as_row())}")
    checkpoints = [path for path in (run.last_checkpoint, run.best_checkpoint) if path.is_file()]
    if checkpoints:
        lines.append(f"  checkpoints    {'  '.join(str(path) for path in checkpoints)}")
    samples = run.sample_grids()
    if samples:
        lines.append(f"  samples        {samples[-1].parent}/ (latest {samples[-1].name})")
    lines.append(f"  metrics        {run.metrics_csv}")
    lines += [f"  view           {command}" for command in viewing_commands(trainer.loggers)]
    return "\n".join(lines)
