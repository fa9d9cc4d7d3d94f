"""`lightning-gans fit --config experiments/<technique>.yaml`: LightningCLI with run directories and one-line errors.

A run writes to `<runs_root>/<technique>/<run_name>/`: config.yaml, metrics.csv, checkpoints/, samples/, and
the chosen logger's files (`--logger wandb|csv|tensorboard|none`, see `loggers.py`).
A new run never writes into an existing directory; `--ckpt_path last --run_name NAME` resumes one.
"""

import os
import re
import sys
import time
from pathlib import Path
from typing import Literal

from jsonargparse import ArgumentError
from pytorch_lightning.cli import LightningCLI
from pytorch_lightning.utilities.exceptions import SIGTERMException

from lightning_gans.bench import bench_command
from lightning_gans.checkpoint import GANCheckpoint, check_checkpoint, check_checkpoint_fits
from lightning_gans.data import GANDataModule
from lightning_gans.errors import ConfigError, TrainingDiverged
from lightning_gans.evaluate import main as evaluate_command
from lightning_gans.feature_extractor_classifier import train_evaluator_command
from lightning_gans.loggers import LOGGER_CHOICES, build_loggers
from lightning_gans.metric_fid import FIDCallback
from lightning_gans.samples import SampleGrid
from lightning_gans.toy_metrics import ToyMetrics
from lightning_gans.technique import TECHNIQUES, GANTechnique

RUN_DIR_ENV = "LIGHTNING_GANS_RUN_DIR"  # hands rank 0's run directory to the processes DDP launches


def is_launching_process() -> bool:
    """True in the process a user started; False in ranks that a DDP launcher (Lightning, torchrun, SLURM) made."""
    return all(os.environ.get(key, "0") == "0" for key in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"))


def technique_name(class_path: str) -> str:
    class_name = class_path.rsplit(".", 1)[-1]
    for name, technique in TECHNIQUES.items():
        if technique.__name__ == class_name:
            return name
    raise ConfigError(
        f"model={class_path!r} is not a known technique: choose one of {', '.join(t.__name__ for t in TECHNIQUES.values())}"
    )


class GANCLI(LightningCLI):
    def __init__(self, args=None, run=True):
        super().__init__(
            GANTechnique,
            GANDataModule,
            subclass_mode_model=True,
            subclass_mode_data=True,
            # GANCheckpoint counts G steps; evaluation callbacks run on G steps, not in a validation loop.
            trainer_defaults={"max_epochs": -1, "enable_checkpointing": False, "limit_val_batches": 0},
            parser_kwargs={"exit_on_error": False, **{cmd: {"exit_on_error": False} for cmd in ("fit", "validate", "test", "predict")}},
            auto_configure_optimizers=False,
            args=args,
            run=run,
        )

    def add_arguments_to_parser(self, parser):
        parser.add_argument("--run_name", type=str | None, default=None, help="Run directory name (default: a timestamp)")
        parser.add_argument("--runs_root", type=str, default="runs", help="Runs go to <runs_root>/<technique>/<run_name>")
        parser.add_argument("--logger", type=Literal[LOGGER_CHOICES], default="wandb",
                            help="Logger beside <run_dir>/metrics.csv (W&B is offline without an API key)")
        parser.add_argument("--wandb_project", type=str, default="lightning-gans", help="W&B project")
        parser.add_argument("--wandb_group", type=str | None, default=None, help="W&B group, e.g. a benchmark id")
        parser.add_argument("--wandb_tags", type=list[str], default=[],
                            help="Extra W&B tags; the technique and the dataset are always tags")
        parser.add_lightning_class_args(GANCheckpoint, "checkpoint")
        parser.add_lightning_class_args(SampleGrid, "samples")
        parser.add_lightning_class_args(FIDCallback, "fid")
        parser.add_lightning_class_args(ToyMetrics, "toy_metrics")
        parser.link_arguments("data.data_shape", "model.init_args.data_shape", apply_on="instantiate")

    def parse_arguments(self, parser, args):
        super().parse_arguments(parser, args)
        config = self.config[self.config.subcommand]
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
            raise ConfigError("--ckpt_path last needs the run to resume: add --run_name NAME (a directory under runs/<technique>/)")
        return str(self.run_dir(config, technique_name(config.model.class_path)) / "checkpoints" / "last.ckpt")

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
                raise ConfigError(
                    f"run directory {run_dir} already exists: choose another --run_name, or resume it with "
                    f"--run_name {config.run_name} --ckpt_path last"
                )
        self.run_directory = run_dir
        config.trainer.default_root_dir = str(run_dir)

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
        return super().instantiate_trainer(logger=chosen, **kwargs)

    def after_instantiate_classes(self):
        ckpt_path = self.config[self.subcommand].get("ckpt_path")
        if ckpt_path:
            check_checkpoint_fits(ckpt_path, self.model)
        # Load the data before the run directory exists, so a missing dataset leaves nothing behind.
        if is_launching_process():
            self.model.check_datamodule(self.datamodule)
            self.datamodule.prepare_data()
            self.run_directory.mkdir(parents=True, exist_ok=True)
            os.environ[RUN_DIR_ENV] = str(self.run_directory)


def one_line(error: Exception) -> str:
    """Condense an error (jsonargparse's span many lines) into one line naming the key and the fix."""
    text = str(error)
    lines = [re.sub(r"^- ", "", line.strip()) for line in text.splitlines() if line.strip()]
    ours = next((line for line in lines if " is invalid: " in line), None)  # a ConfigError raised in a constructor
    if ours:
        return ours
    keys = re.findall(r'Parser key "([^"]+)"', text)
    key = ".".join(keys) or None
    unknown = re.search(r"Option '([^']+)' is not accepted", text) or re.search(r"nrecognized arguments: (.+)", text)
    if unknown:
        name = f"{key}.{unknown.group(1)}" if key else unknown.group(1)
        return f"unknown config key {name}: see `lightning-gans fit --help` for the keys"
    given = re.search(r"Given value: (.+)", text[text.rfind("Parser key"):])
    value = given.group(1) if given else "?"
    if key == "model" and "import path" in text:
        return f"model={value} is not a known technique: choose one of {', '.join(t.__name__ for t in TECHNIQUES.values())}"
    if key:
        return f"{key}={value} is invalid: see `lightning-gans fit --help` for what {key} accepts"
    return lines[0] if lines else type(error).__name__


PLAIN_COMMANDS = {"train-evaluator": train_evaluator_command, "evaluate": evaluate_command, "bench": bench_command}


def main(args=None) -> None:
    try:
        argv = sys.argv[1:] if args is None else list(args)
        if argv[:1] and argv[0] in PLAIN_COMMANDS:  # not Lightning subcommands: plain argparse
            PLAIN_COMMANDS[argv[0]](argv[1:])
            return
        GANCLI(args=args)
    except SIGTERMException:
        sys.exit(143)  # 128 + SIGTERM; GANCheckpoint has saved a resumable checkpoint and said where
    except TrainingDiverged as error:
        print(f"lightning-gans: error: {error}", file=sys.stderr)
        sys.exit(3)
    except (ConfigError, ArgumentError, ValueError) as error:
        if type(error) is ValueError and " is invalid: " not in str(error):
            raise  # not a user-fixable input: a bug worth its traceback
        print(f"lightning-gans: error: {one_line(error)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
