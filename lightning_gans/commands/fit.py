"""`lightning-gans fit --config sngan`: LightningCLI with run directories and one-line errors.

A run writes to `<runs_root>/<technique>/<run_name>/`: config.yaml, metrics.csv, checkpoints/, samples/, and
the chosen logger's files (`--logger wandb|csv|tensorboard|none`, see `training.loggers`).
A new run never writes into an existing directory; `--ckpt_path last --run_name NAME` resumes one, and
`--run_name NAME --resume auto` starts the run or resumes it, whichever applies (a requeued job's command).
`--config` takes a file or the name of a built-in config (`configs.py`).
"""

import logging
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Literal, Optional

import torch
from jsonargparse import ActionYesNo
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.cli import LightningCLI

from lightning_gans.commands.configs import resolve_config_args
from lightning_gans.data import GANDataModule
from lightning_gans.errors import ConfigError, collect_config_errors
from lightning_gans.techniques import GANTechnique, technique_name
from lightning_gans.training.checkpoints import GANCheckpoint, check_checkpoint, check_checkpoint_fits
from lightning_gans.training.loggers import LOGGER_CHOICES, build_loggers
from lightning_gans.training.metric_callbacks import FIDCallback, ToyMetrics
from lightning_gans.training.progress import GeneratorStepProgressBar
from lightning_gans.training.sample_grids import SampleGrid
from lightning_gans.training.summary import fit_summary

RUN_DIR_ENV = "LIGHTNING_GANS_RUN_DIR"  # hands rank 0's run directory to the processes DDP launches


def is_launching_process() -> bool:
    """True in the process a user started; False in ranks that a DDP launcher (Lightning, torchrun, SLURM) made."""
    return all(os.environ.get(key, "0") == "0" for key in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"))


class GANCLI(LightningCLI):
    def __init__(self, args=None, run=True):
        super().__init__(
            GANTechnique,
            GANDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            # GANCheckpoint counts G steps; evaluation callbacks run on G steps.
            trainer_defaults={"max_epochs": -1},
            parser_kwargs={"exit_on_error": False, "prog": "lightning-gans",
                           "fit": {"exit_on_error": False, "prog": "lightning-gans fit"}},
            auto_configure_optimizers=False,
            args=resolve_config_args(args),
            run=run,
        )

    @staticmethod
    def subcommands() -> dict[str, set[str]]:
        """Only `fit`: evaluation is `lightning-gans evaluate`, not a validation loop."""
        return {"fit": LightningCLI.subcommands()["fit"]}

    def add_arguments_to_parser(self, parser):
        parser.add_argument("--run_name", type=str | None, default=None, help="Run directory name (default: a timestamp)")
        parser.add_argument("--runs_root", type=str, default="runs", help="Runs go to <runs_root>/<technique>/<run_name>")
        parser.add_argument("--logger", type=Literal[LOGGER_CHOICES], default="wandb",
                            help="Logger beside <run_dir>/metrics.csv (W&B is offline without an API key)")
        parser.add_argument("--wandb_project", type=str, default="lightning-gans", help="W&B project")
        parser.add_argument("--wandb_group", type=str | None, default=None, help="W&B group, e.g. a benchmark id")
        parser.add_argument("--wandb_tags", type=list[str], default=[],
                            help="Extra W&B tags; the technique and the dataset are always tags")
        parser.add_argument("--resume", type=Optional[Literal["auto"]], default=None,
                            help="auto: resume <runs_root>/<technique>/<run_name> from its last.ckpt when it exists, "
                                 "else start it; a run that finished its budget exits 0")
        parser.add_argument("--verbose", action=ActionYesNo, default=False,
                            help="show Lightning's info messages (hardware, seeds, restoring, tips)")
        parser.add_argument("--init_from", type=Optional[str], default=None,
                            help="fine-tune: a checkpoint whose G, D and EMA weights start this new run (its counters "
                                 "and optimizer states are not taken)")
        parser.add_lightning_class_args(GANCheckpoint, "checkpoint")
        parser.add_lightning_class_args(SampleGrid, "samples")
        parser.add_lightning_class_args(FIDCallback, "fid")
        parser.add_lightning_class_args(ToyMetrics, "toy_metrics")
        parser.link_arguments("data.data_shape", "model.init_args.data_shape", apply_on="instantiate")

    def parse_arguments(self, parser, args):
        super().parse_arguments(parser, args)
        config = self.config[self.config.subcommand]
        for name in ("pytorch_lightning", "lightning_fabric"):  # quiet by default; errors and warnings still show
            logging.getLogger(name).setLevel(logging.INFO if config.verbose else logging.WARNING)
        if not config.verbose:  # Lightning's own call into torch's pytree, not something a user can act on
            warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
        if config.get("resume") == "auto":
            self.resolve_auto_resume(config)
        if config.get("init_from"):
            if config.get("ckpt_path"):  # a run keeps its config.yaml's init_from; resumed, its checkpoint rules
                config.init_from = None
            else:
                check_checkpoint(config.init_from)
        if config.get("ckpt_path"):
            config.ckpt_path = self.resolve_checkpoint(config)
            check_checkpoint(config.ckpt_path)

    def _parse_ckpt_path(self):
        """LightningCLI would overwrite the configuration with the checkpoint's hyperparameters, silently
        ignoring overrides such as a larger budget. Here a resumed run is configured like a new one (pass the
        run's config.yaml), and a checkpoint that does not fit that configuration is refused before any work
        (`after_instantiate_classes`)."""

    def resolve_checkpoint(self, config) -> str:
        if config.ckpt_path != "last":
            return config.ckpt_path
        if not config.run_name:
            raise ConfigError("--ckpt_path last needs the run to resume",
                              "add --run_name NAME (a directory under runs/<technique>/)")
        return str(self.run_dir(config, technique_name(config.model.class_path)) / "checkpoints" / "last.ckpt")

    def resolve_auto_resume(self, config) -> None:
        """`--resume auto`: `--ckpt_path last` when the run has a last.ckpt, a new run when its directory does not
        exist. (Processes a DDP launcher started see rank 0's new directory without a checkpoint: a new run too.)
        An explicit --ckpt_path (e.g. resuming with a config.yaml that says `resume: auto`) is taken as it is."""
        if config.get("ckpt_path"):
            return
        if not config.run_name:
            raise ConfigError("--resume auto needs the run's name", "add --run_name NAME")
        run_dir = self.run_dir(config, technique_name(config.model.class_path))
        last = run_dir / "checkpoints" / "last.ckpt"
        if last.is_file():
            config.ckpt_path = str(last)
        elif run_dir.exists() and is_launching_process():
            raise ConfigError(f"run directory {run_dir} exists without checkpoints/last.ckpt (stopped before its first "
                              "checkpoint)", "remove the directory, or choose another --run_name")

    @staticmethod
    def run_dir(config, technique: str) -> Path:
        return Path(config.runs_root) / technique / config.run_name

    def before_instantiate_classes(self):
        config = self.config[self.subcommand]
        technique = technique_name(config.model.class_path)
        if config.get("ckpt_path"):
            run_dir = Path(config.ckpt_path).resolve().parent.parent
            self.save_config_callback = None  # the run's config.yaml is already there
        elif not is_launching_process() and os.environ.get(RUN_DIR_ENV):
            run_dir = Path(os.environ[RUN_DIR_ENV])
        else:
            config.run_name = config.run_name or time.strftime("%Y%m%d-%H%M%S")
            run_dir = self.run_dir(config, technique)
            if is_launching_process() and run_dir.exists():
                raise ConfigError(f"run directory {run_dir} already exists", "choose another --run_name, or resume it with "
                                  f"--run_name {config.run_name} --ckpt_path last")
        self.run_directory = run_dir
        config.trainer.default_root_dir = str(run_dir)

    def exit_if_complete(self, ckpt_path: str) -> None:
        """A checkpoint at the end of the configured budget has nothing to train: say so and exit 0."""
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)["lightning_gans"]
        # The counters are set again from the checkpoint when fit resumes.
        self.model.g_step, self.model.images_seen = state["g_step"], state["images_seen"]
        if self.model.budget_reached():
            if is_launching_process():
                print(f"lightning-gans: run {self.run_directory} is complete (generator step {state['g_step']}, "
                      f"{state['images_seen'] / 1000:g} kimg): nothing to train")
            sys.exit(0)

    def instantiate_trainer(self, **kwargs):
        """The trainer logs to `loggers.build_loggers` (metrics.csv and `--logger`), or to metrics.csv and an
        explicit `--trainer.logger`."""
        config = self.config[self.subcommand]
        technique = technique_name(config.model.class_path)
        explicit = self.config_init[self.subcommand].trainer.logger
        if explicit in (None, True):
            data = config.data.init_args
            tags = [technique, data.get("distribution") or data.get("dataset"), *config.wandb_tags]
            run_config = {"technique": technique, "seed": config.seed_everything, "data": data.as_dict()}
            chosen = build_loggers(config.logger, self.run_directory, f"{technique}-{self.run_directory.name}",
                                   config.wandb_project, config.wandb_group, tuple(tag for tag in tags if tag), run_config)
        else:  # the user's own logger(s) replace --logger (false: none); metrics.csv stays
            own = [] if explicit is False else list(explicit) if isinstance(explicit, (list, tuple)) else [explicit]
            chosen = build_loggers("none", self.run_directory) + own
        return super().instantiate_trainer(logger=chosen, callbacks=self.callbacks_with_progress_bar(), **kwargs)

    def callbacks_with_progress_bar(self) -> list:
        """`--trainer.callbacks` and the bar in generator steps (`training.progress`), unless the bar is turned off
        or the user gave a progress bar of their own."""
        trainer = self.config_init[self.subcommand].trainer
        callbacks = [] if trainer.callbacks is None else list(trainer.callbacks) if isinstance(trainer.callbacks, list) \
            else [trainer.callbacks]
        if trainer.enable_progress_bar is not False and not any(isinstance(c, ProgressBar) for c in callbacks):
            callbacks.append(GeneratorStepProgressBar())
        return callbacks

    def instantiate_classes(self):
        with collect_config_errors() as errors:
            try:
                super().instantiate_classes()
            except ValueError:
                if errors:  # a technique's or data module's constructor refused a value: report it as itself
                    raise errors[0] from None
                raise

    def after_instantiate_classes(self):
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if ckpt_path:
            check_checkpoint_fits(ckpt_path, self.model)
            self.exit_if_complete(ckpt_path)
        init_from = self.config[self.subcommand].get("init_from")
        if init_from:  # new counters and optimizers: only the networks' weights are taken
            self.model.load_state_dict(check_checkpoint_fits(init_from, self.model, fix=(
                "configure the networks (model.architecture, width, latent_dim, data) as in the checkpoint's run")))
            if is_launching_process():
                print(f"lightning-gans: G, D and EMA weights from {init_from}")
        # Load the data before the run directory exists, so a missing dataset leaves nothing behind.
        if is_launching_process():
            self.model.connect_data(self.datamodule)
            self.datamodule.prepare_data()
            self.run_directory.mkdir(parents=True, exist_ok=True)
            os.environ[RUN_DIR_ENV] = str(self.run_directory)

    def after_fit(self):
        """LightningCLI calls it when fit returns (not after a signal or a divergence): the run's summary."""
        if self.trainer.is_global_zero:
            print(fit_summary(self.trainer, self.run_directory))


def main(argv: list[str]) -> None:
    """`lightning-gans fit ARGS`."""
    # GANCLI gets the command line as `args` (built-in config names resolved): not a mistake to warn about
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    GANCLI(args=["fit", *argv])
