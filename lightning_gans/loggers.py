"""The loggers of a run: `<run_dir>/metrics.csv` always, beside W&B (the default), TensorBoard or nothing else.

W&B logs online when an API key is configured (WANDB_API_KEY, a ~/.netrc entry from `wandb login`, or wandb's
settings), else offline into `<run_dir>/wandb/offline-run-*` (upload later with `wandb sync`); it never prompts.
An explicit WANDB_MODE wins (`disabled` leaves W&B out). A resumed run continues the same W&B run.
"""

import os
from pathlib import Path
from typing import Optional

from pytorch_lightning.loggers import CSVLogger, Logger, TensorBoardLogger, WandbLogger

from lightning_gans.errors import ConfigError

LOGGER_CHOICES = ("wandb", "csv", "tensorboard", "none")


class FinishingWandbLogger(WandbLogger):
    """Lightning's WandbLogger leaves the W&B run open after fit, so a second fit in the same process would log
    into it; this one finishes the run with the fit."""

    def finalize(self, status: str) -> None:
        super().finalize(status)
        if self._experiment is not None:
            self._experiment.finish(exit_code=0 if status == "success" else 1)


def wandb_api_key_configured() -> bool:
    """Whether wandb finds credentials (environment, netrc or settings) for its host, without prompting."""
    from wandb.sdk import wandb_setup
    from wandb.sdk.lib import wbauth

    host = wandb_setup.singleton().settings.base_url
    return wbauth.authenticate_session(host=host, source="lightning-gans", prompt=False, update_session=False) is not None


def wandb_mode() -> str:
    """WANDB_MODE when set, else online with credentials and offline without."""
    mode = os.environ.get("WANDB_MODE")
    if mode in ("online", "run") and not wandb_api_key_configured():
        raise ConfigError(
            f"WANDB_MODE={mode} is invalid: no W&B API key is configured; run `wandb login` or set WANDB_API_KEY, "
            "or unset WANDB_MODE to log offline"
        )
    return mode or ("online" if wandb_api_key_configured() else "offline")


def previous_wandb_id(run_dir: Path) -> Optional[str]:
    """The id of the newest W&B run in `<run_dir>/wandb/` ((offline-)run-<time>-<id>), so a resume continues it."""
    runs = sorted((run_dir / "wandb").glob("*run-*-*"), key=lambda path: path.name.split("run-", 1)[1])
    return runs[-1].name.rsplit("-", 1)[1] if runs else None


def build_loggers(
    choice: str, run_dir: Path, run_name: Optional[str] = None, project: Optional[str] = None,
    group: Optional[str] = None, tags: tuple[str, ...] = (),
) -> list[Logger]:
    """The CSVLogger writing `<run_dir>/metrics.csv`, plus the logger `choice` names (see `LOGGER_CHOICES`);
    `run_name`, `project`, `group` and `tags` describe the W&B run."""
    loggers: list[Logger] = [CSVLogger(save_dir=run_dir, name="", version="")]
    if choice == "tensorboard":
        loggers.append(TensorBoardLogger(save_dir=run_dir, name="", version="tensorboard"))
    elif choice == "wandb" and (mode := wandb_mode()) != "disabled":
        loggers.append(FinishingWandbLogger(
            save_dir=str(run_dir), name=run_name, id=previous_wandb_id(run_dir), project=project, group=group,
            tags=list(tags), mode=mode,
        ))
    return loggers
