"""The loggers of a run: `<run_dir>/metrics.csv` always, beside W&B (the default), TensorBoard or nothing else.

W&B logs online when an API key is configured (WANDB_API_KEY, a ~/.netrc entry from `wandb login`, or wandb's
settings), else offline into `<run_dir>/wandb/offline-run-*` (upload later with `wandb sync`); it never prompts.
An explicit WANDB_MODE wins (`disabled` leaves W&B out). A resumed run continues the same W&B run.
"""

import csv
import os
from pathlib import Path
from typing import Optional

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger
from pytorch_lightning.loggers.csv_logs import ExperimentWriter
from pytorch_lightning.loggers.logger import rank_zero_experiment
from pytorch_lightning.utilities import rank_zero_only

from lightning_gans.errors import ConfigError

LOGGER_CHOICES = ("wandb", "csv", "tensorboard", "none")


class AppendingExperimentWriter(ExperimentWriter):
    """Lightning's CSV writer deletes an existing metrics.csv; this one appends to it, keeping its columns."""

    def _check_log_dir_exists(self) -> None:
        if self._fs.isfile(self.metrics_file_path):
            with self._fs.open(self.metrics_file_path, "r", newline="") as file:
                self.metrics_keys = next(csv.reader(file), [])


class RunCSVLogger(CSVLogger):
    """Writes `<run_dir>/metrics.csv`; a resumed run appends its rows to those before."""

    def __init__(self, run_dir: Path):
        super().__init__(save_dir=run_dir, name="", version="")

    @property
    @rank_zero_experiment
    def experiment(self) -> AppendingExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = AppendingExperimentWriter(log_dir=self.log_dir)
        return self._experiment


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
        if self._experiment is not None:
            run = self._experiment
            self.view = f"wandb sync {run.sync_dir}" if run.offline else f"open {run.url}"
            run.finish(exit_code=0 if status == "success" else 1)


def summarize(loggers: list[Logger], values: dict[str, float]) -> None:
    """Write `values` into the summary of the W&B run (the columns of W&B's runs table); call on rank 0."""
    for logger in loggers:
        if isinstance(logger, WandbLogger):
            logger.experiment.summary.update(values)


def wandb_api_key_configured() -> bool:
    """Whether wandb finds credentials (environment, netrc or settings) for its host, without prompting."""
    from wandb.sdk import wandb_setup
    from wandb.sdk.lib import wbauth

    host = wandb_setup.singleton().settings.base_url
    return wbauth.authenticate_session(host=host, source="lightning-gans", prompt=False, update_session=False) is not None


def wandb_mode() -> str:
    """WANDB_MODE when set, else online with credentials and offline without; online without them is an error."""
    mode = os.environ.get("WANDB_MODE")
    if mode not in (None, "", "online", "run"):
        return mode  # offline, dryrun or disabled need no credentials
    if wandb_api_key_configured():
        return "online"
    if mode:
        raise ConfigError(f"WANDB_MODE={mode} is invalid", "no W&B API key is configured; run `wandb login` or set "
                          "WANDB_API_KEY, or unset WANDB_MODE to log offline", "WANDB_MODE", mode)
    return "offline"


def previous_wandb_id(run_dir: Path) -> Optional[str]:
    """The id of the newest W&B run in `<run_dir>/wandb/` ((offline-)run-<time>-<id>), so a resume continues it."""
    runs = sorted((run_dir / "wandb").glob("*run-*-*"), key=lambda path: path.name.split("run-", 1)[1])
    return runs[-1].name.rsplit("-", 1)[1] if runs else None


def build_loggers(
    choice: str, run_dir: Path, run_name: Optional[str] = None, project: Optional[str] = None,
    group: Optional[str] = None, tags: tuple[str, ...] = (), run_config: Optional[dict] = None,
) -> list[Logger]:
    """The CSVLogger writing `<run_dir>/metrics.csv`, plus the logger `choice` names (see `LOGGER_CHOICES`);
    `run_name`, `project`, `group`, `tags` and `run_config` (beside the model's hyperparameters, which Lightning
    logs) describe the W&B run."""
    loggers: list[Logger] = [RunCSVLogger(run_dir)]
    if choice == "tensorboard":
        loggers.append(TensorBoardLogger(save_dir=run_dir, name="", version="tensorboard"))
    elif choice == "wandb" and (mode := wandb_mode()) != "disabled":
        loggers.append(FinishingWandbLogger(
            save_dir=str(run_dir), name=run_name, id=previous_wandb_id(run_dir), project=project, group=group,
            tags=list(tags), config=run_config, mode=mode,
        ))
    return loggers
