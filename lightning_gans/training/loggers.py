"""The loggers of a run: `<run_dir>/metrics.csv` always, beside W&B (the default), TensorBoard or nothing else.

W&B logs online when an API key is configured (WANDB_API_KEY, a ~/.netrc entry from `wandb login`, or wandb's
settings), else offline into `<run_dir>/wandb/offline-run-*` (upload later with `wandb sync`); it never prompts.
An explicit WANDB_MODE wins (`disabled` leaves W&B out). A resumed run continues the same W&B run.
"""

import csv
import os
from argparse import Namespace
from pathlib import Path
from typing import Any, Optional

import torch
from pytorch_lightning.core.saving import save_hparams_to_yaml
from pytorch_lightning.loggers import Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.utilities import rank_zero_only

from lightning_gans.errors import ConfigError
from lightning_gans.run.layout import RunLayout
from lightning_gans.training.adapters import wandb_credentials_configured

LOGGER_CHOICES = ("wandb", "csv", "tensorboard", "none")


class MetricsFile:
    """A CSV file of metric rows that only grows: a resumed run's rows go below the earlier sessions' rows. The
    columns are the sorted union of the keys; a row with a key the header lacks rewrites the file with the wider
    header, leaving that column blank in the earlier rows."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def columns(self) -> list[str]:
        if not self.path.is_file():
            return []
        with open(self.path, newline="") as file:
            return next(csv.reader(file), [])

    def rows(self) -> list[dict[str, str]]:
        if not self.path.is_file():
            return []
        with open(self.path, newline="") as file:
            return list(csv.DictReader(file))

    def append(self, row: dict[str, Any]) -> None:
        columns = self.columns()
        if columns and set(row) <= set(columns):
            with open(self.path, "a", newline="") as file:
                csv.DictWriter(file, fieldnames=columns).writerow(row)
            return
        earlier = self.rows()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "w", newline="") as file:
            writer = csv.DictWriter(file, fieldnames=sorted({*columns, *row}))
            writer.writeheader()
            writer.writerows([*earlier, row])


class RunCSVLogger(Logger):
    """Writes `<run_dir>/metrics.csv` (a `MetricsFile`: each logged row with its `step`, appended as it comes) and
    the hyperparameters into `<run_dir>/hparams.yaml`. Lightning's CSVLogger would delete the metrics.csv of the
    run's earlier sessions."""

    def __init__(self, run_dir: Path):
        super().__init__()
        self.run_dir = Path(run_dir)
        self.metrics = MetricsFile(RunLayout(self.run_dir).metrics_csv)
        self.hparams: dict[str, Any] = {}

    @property
    def name(self) -> str:
        return ""

    @property
    def version(self) -> str:
        return ""

    @property
    def save_dir(self) -> str:
        return str(self.run_dir)

    @property
    def log_dir(self) -> str:
        return str(self.run_dir)

    @rank_zero_only
    def log_hyperparams(self, params: dict[str, Any] | Namespace, *args, **kwargs) -> None:
        self.hparams.update(vars(params) if isinstance(params, Namespace) else params)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        save_hparams_to_yaml(RunLayout(self.run_dir).hparams, self.hparams)

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, float], step: Optional[int] = None) -> None:
        row = {key: value.item() if isinstance(value, torch.Tensor) else value for key, value in metrics.items()}
        self.metrics.append({**row, "step": step})


class FinishingWandbLogger(WandbLogger):
    """Lightning's WandbLogger, with charts against the generator step (`progress/g_step`, in every row; training
    rows and evaluations also carry `progress/kimg`), and the run finished with the fit (Lightning's leaves it open,
    so a second fit in the same process would log into it). `view` is then how to see the run: its URL, or the
    `wandb sync` command of an offline run."""

    axes_defined = False
    view: Optional[str] = None

    @rank_zero_only
    def log_metrics(self, metrics: dict, step: Optional[int] = None) -> None:
        if not self.axes_defined:  # after Lightning's own definitions (trainer/global_step), which these replace
            self.experiment.define_metric("progress/g_step")
            self.experiment.define_metric("*", step_metric="progress/g_step", step_sync=True)
            self.axes_defined = True
        super().log_metrics(metrics if step is None else {"progress/g_step": step, **metrics}, step)

    def finalize(self, status: str) -> None:
        super().finalize(status)
        import wandb

        # The run this logger started or joined (WandbLogger reuses a run in progress); None if it never logged.
        if (run := wandb.run) is not None:
            self.view = f"wandb sync {run.sync_dir}" if run.offline else f"open {run.url}"
            run.finish(exit_code=0 if status == "success" else 1)


def summarize(loggers: list[Logger], values: dict[str, float]) -> None:
    """Write `values` into the summary of the W&B run (the columns of W&B's runs table); call on rank 0."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.summary.update(values)


def wandb_mode() -> str:
    """WANDB_MODE when set, else online with credentials and offline without; online without them is an error."""
    mode = os.environ.get("WANDB_MODE")
    if mode not in (None, "", "online", "run"):
        return mode  # offline, dryrun or disabled need no credentials
    if wandb_credentials_configured():
        return "online"
    if mode:
        raise ConfigError(f"WANDB_MODE={mode} is invalid", "no W&B API key is configured; run `wandb login` or set "
                          "WANDB_API_KEY, or unset WANDB_MODE to log offline", "WANDB_MODE", mode)
    return "offline"


def previous_wandb_id(run_dir: Path) -> Optional[str]:
    """The id of the newest W&B run in `<run_dir>/wandb/` ((offline-)run-<time>-<id>), so a resume continues it."""
    runs = sorted(RunLayout(run_dir).wandb.glob("*run-*-*"), key=lambda path: path.name.split("run-", 1)[1])
    return runs[-1].name.rsplit("-", 1)[1] if runs else None


def build_loggers(
    choice: str, run_dir: Path, run_name: Optional[str] = None, project: Optional[str] = None,
    group: Optional[str] = None, tags: tuple[str, ...] = (), run_config: Optional[dict] = None,
) -> list[Logger]:
    """The RunCSVLogger writing `<run_dir>/metrics.csv`, plus the logger `choice` names (see `LOGGER_CHOICES`);
    `run_name`, `project`, `group`, `tags` and `run_config` (beside the model's hyperparameters, which Lightning
    logs) describe the W&B run."""
    loggers: list[Logger] = [RunCSVLogger(run_dir)]
    if choice == "tensorboard":
        loggers.append(TensorBoardLogger(save_dir=run_dir, name="", version=RunLayout(run_dir).tensorboard.name))
    elif choice == "wandb" and (mode := wandb_mode()) != "disabled":
        loggers.append(FinishingWandbLogger(
            save_dir=str(run_dir), name=run_name, id=previous_wandb_id(run_dir), project=project, group=group,
            tags=list(tags), config=run_config, mode=mode,
        ))
    return loggers
