"""`lightning-gans fit --config sngan`: LightningCLI with run directories and one-line errors.

A run writes to `<runs_root>/<technique>/<run_name>/` (its files: `run.layout`), and the chosen logger's files
(`--logger wandb|csv|tensorboard|none`, see `training.loggers`). Its config.yaml does not say where the run lies, so a
run directory can be moved: `--config <run>/config.yaml` finds the runs root from where that file is.
A new run never writes into an existing directory; `--ckpt_path last --run_name NAME` resumes one, and
`--run_name NAME --resume auto` starts the run or resumes it, whichever applies (a requeued job's command).
`--config` takes a file or the name of a built-in config (`configs.py`).
"""

import logging
import sys
import time
import warnings
from pathlib import Path
from typing import Literal, Optional

from jsonargparse import ActionYesNo
from pytorch_lightning.callbacks import ProgressBar
from pytorch_lightning.cli import LightningCLI

from lightning_gans.commands.configs import resolve_config_args
from lightning_gans.data import GANDataModule
from lightning_gans.errors import ConfigError, collect_config_errors
from lightning_gans.run.checkpoint import CheckpointInfo
from lightning_gans.run.layout import (
    RunLayout,
    hand_to_launched_processes,
    handed_by_launching_process,
    is_launching_process,
)
from lightning_gans.techniques import GANTechnique, technique_name
from lightning_gans.training.best_checkpoint import BestCheckpoint
from lightning_gans.training.checkpoints import GANCheckpoint
from lightning_gans.training.loggers import LOGGER_CHOICES, build_loggers
from lightning_gans.training.metric_callbacks import FIDCallback, ToyMetrics
from lightning_gans.training.progress import GeneratorStepProgressBar
from lightning_gans.training.results import ResultsBoard
from lightning_gans.training.sample_grids import SampleGrid
from lightning_gans.training.summary import fit_summary

DEFAULT_RUNS_ROOT = "runs"


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
        parser.add_argument("--runs_root", type=Optional[str], default=None,
                            help=f"Runs go to <runs_root>/<technique>/<run_name> (default: {DEFAULT_RUNS_ROOT}, or for a "
                                 "run's config.yaml as --config the runs root it lies in)")
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
        # What the data decides: the sample shape, and with data.conditional the classes (the one switch).
        for attribute in ("data_shape", "num_classes", "class_names"):
            parser.link_arguments(f"data.{attribute}", f"model.init_args.{attribute}", apply_on="instantiate")

    def parse_arguments(self, parser, args):
        super().parse_arguments(parser, args)
        config = self.config[self.config.subcommand]
        for name in ("pytorch_lightning", "lightning_fabric"):  # quiet by default; errors and warnings still show
            logging.getLogger(name).setLevel(logging.INFO if config.verbose else logging.WARNING)
        if not config.verbose:  # Lightning's own call into torch's pytree, not something a user can act on
            warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated")
        self.technique = technique_name(config.model.class_path)
        for key in ("num_classes", "class_names"):  # linked from the data, which would silently override them
            if config.model.init_args.get(key) is not None:
                raise ConfigError(f"model.{key} is set by the data",
                                  "remove it: with data.conditional true the classes come from the data")
        self.runs_root = self.choose_runs_root(config)
        if config.get("resume") == "auto":
            self.resolve_auto_resume(config)
        # Each checkpoint is read once, here; the fit check, the budget check and --init_from use what was read.
        self.resume_from: Optional[CheckpointInfo] = None
        self.init_from: Optional[CheckpointInfo] = None
        if config.get("init_from"):
            if config.get("ckpt_path"):  # a run keeps its config.yaml's init_from; resumed, its checkpoint rules
                config.init_from = None
            else:
                self.init_from = CheckpointInfo.load(config.init_from)
        if config.get("ckpt_path"):
            self.resume_from = CheckpointInfo.load(self.resolve_checkpoint(config))
            # The checkpoint is handed to the trainer by this class (`after_instantiate_classes`), not left in the
            # configuration: LightningCLI would overwrite the configuration with the checkpoint's hyperparameters,
            # silently ignoring overrides such as a larger budget. A resumed run is configured like a new one.
            config.ckpt_path = None

    def choose_runs_root(self, config) -> Path:
        """--runs_root; else, for a run's own config.yaml passed as --config, the runs root it lies in (a run's
        config.yaml does not store where the run is, so a run directory can be moved); else `runs`."""
        if config.runs_root:
            return Path(config.runs_root)
        config_files = [Path(str(path)) for path in config.get("config") or []]
        located = RunLayout.runs_root_of_config(config_files[-1], self.technique) if config_files else None
        return located or Path(DEFAULT_RUNS_ROOT)

    def named_run(self, config) -> RunLayout:
        return RunLayout.under(self.runs_root, self.technique, config.run_name)

    def resolve_checkpoint(self, config) -> str:
        if config.ckpt_path != "last":
            return config.ckpt_path
        if not config.run_name:
            raise ConfigError("--ckpt_path last needs the run to resume",
                              "add --run_name NAME (a directory under runs/<technique>/)")
        return str(self.named_run(config).last_checkpoint)

    def resolve_auto_resume(self, config) -> None:
        """`--resume auto`: `--ckpt_path last` when the run has a last.ckpt, a new run when its directory does not
        exist. (Processes a DDP launcher started see rank 0's new directory without a checkpoint: a new run too.)
        An explicit --ckpt_path (e.g. resuming with a config.yaml that says `resume: auto`) is taken as it is."""
        if config.get("ckpt_path"):
            return
        if not config.run_name:
            raise ConfigError("--resume auto needs the run's name", "add --run_name NAME")
        run = self.named_run(config)
        if run.last_checkpoint.is_file():
            config.ckpt_path = str(run.last_checkpoint)
        elif run.root.exists() and is_launching_process():
            raise ConfigError(f"run directory {run.root} exists without {run.last_checkpoint.relative_to(run.root)} "
                              "(stopped before its first checkpoint)", "remove the directory, or choose another --run_name")

    def before_instantiate_classes(self):
        config = self.config[self.subcommand]
        if self.resume_from:
            self.run_layout = RunLayout.of_checkpoint(self.resume_from.path)
            self.save_config_callback = None  # the run's config.yaml is already there
        elif handed := handed_by_launching_process():
            self.run_layout = handed
        else:
            config.run_name = config.run_name or time.strftime("%Y%m%d-%H%M%S")
            self.run_layout = self.named_run(config)
            if is_launching_process() and self.run_layout.root.exists():
                raise ConfigError(f"run directory {self.run_layout.root} already exists", "choose another --run_name, or "
                                  f"resume it with --run_name {config.run_name} --ckpt_path last")
        config.runs_root = None  # config.yaml: where the run lies is where config.yaml lies

    def exit_if_complete(self, checkpoint: CheckpointInfo) -> None:
        """A checkpoint at the end of the configured budget has nothing to train: say so and exit 0."""
        if self.model.budget.reached(checkpoint.g_step, checkpoint.images_seen):
            if is_launching_process():
                print(f"lightning-gans: run {self.run_layout.root} is complete (generator step {checkpoint.g_step}, "
                      f"{checkpoint.images_seen / 1000:g} kimg): nothing to train")
            sys.exit(0)

    def instantiate_trainer(self, **kwargs):
        """The trainer writes into the run directory and logs to `loggers.build_loggers` (metrics.csv and
        `--logger`), or to metrics.csv and an explicit `--trainer.logger`. The evaluators publish on one results board,
        which the best checkpoint ranks and the summary reads."""
        config = self.config[self.subcommand]
        run_dir = self.run_layout.root
        explicit = self.config_init[self.subcommand].trainer.logger
        if explicit in (None, True):
            data = config.data.init_args
            tags = [self.technique, data.get("distribution") or data.get("dataset"), *config.wandb_tags]
            run_config = {"technique": self.technique, "seed": config.seed_everything, "data": data.as_dict()}
            chosen = build_loggers(config.logger, run_dir, f"{self.technique}-{run_dir.name}", config.wandb_project,
                                   config.wandb_group, tuple(tag for tag in tags if tag), run_config)
        else:  # the user's own logger(s) replace --logger (false: none); metrics.csv stays
            own = [] if explicit is False else list(explicit) if isinstance(explicit, (list, tuple)) else [explicit]
            chosen = build_loggers("none", run_dir) + own
        self.results = ResultsBoard()
        for evaluator in (self.config_init[self.subcommand].fid, self.config_init[self.subcommand].toy_metrics):
            evaluator.publish_to(self.results)
        callbacks = [*self.callbacks_with_progress_bar(), BestCheckpoint(self.results)]
        return super().instantiate_trainer(logger=chosen, callbacks=callbacks, default_root_dir=str(run_dir), **kwargs)

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
        if self.resume_from:
            self.resume_from.require_fits(self.model)
            self.exit_if_complete(self.resume_from)
            self.trainer.ckpt_path = str(self.resume_from.path)  # Lightning restores the full state when fit starts
        if self.init_from:  # new counters and optimizers: only the networks' weights are taken
            self.init_from.require_fits(self.model, fix=(
                "configure the networks (model.architecture, width, latent_dim, data) as in the checkpoint's run"))
            self.model.load_state_dict(self.init_from.state_dict_for(self.model))
            if is_launching_process():
                print(f"lightning-gans: G, D and EMA weights from {self.init_from.path}")
        self.resume_from = self.init_from = None  # what was read is used: training does not hold its tensors
        # Load the data before the run directory exists, so a missing dataset leaves nothing behind.
        if is_launching_process():
            self.model.connect_data(self.datamodule)
            self.config_init[self.subcommand].fid.require_fits(self.model)
            self.datamodule.prepare_data()
            self.run_layout.root.mkdir(parents=True, exist_ok=True)
            hand_to_launched_processes(self.run_layout)

    def after_fit(self):
        """LightningCLI calls it when fit returns (not after a signal or a divergence): the run's summary."""
        if self.trainer.is_global_zero:
            print(fit_summary(self.trainer, self.run_layout, self.results))


def main(argv: list[str]) -> None:
    """`lightning-gans fit ARGS`."""
    # GANCLI gets the command line as `args` (built-in config names resolved): not a mistake to warn about
    warnings.filterwarnings("ignore", message="LightningCLI's args parameter is intended")
    GANCLI(args=["fit", *argv])
