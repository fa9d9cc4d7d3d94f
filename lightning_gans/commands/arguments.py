"""What the plain commands (evaluate, generate, bench, train-evaluator) share on their command lines: the parser, for
which a bad command line is a ConfigError printed as one line like every other bad input (argparse prints usage and
exits on its own), and `--ckpt_path best|last --run_dir DIR`."""

import argparse
from pathlib import Path
from typing import Optional

from lightning_gans.errors import ConfigError, require
from lightning_gans.run.layout import CHECKPOINT_NAMES, RunLayout


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ConfigError(f"the {self.prog} command line is invalid", f"{message}; see `{self.prog} --help`")


def resolve_ckpt_path(ckpt_path: str, run_dir: Optional[str]) -> str:
    """`best` and `last` name those checkpoints of `run_dir`; any other value is a path."""
    if ckpt_path not in CHECKPOINT_NAMES:
        require(run_dir is None, "--run_dir", run_dir, "give either --ckpt_path FILE or --ckpt_path best|last --run_dir DIR")
        return ckpt_path
    if run_dir is None:
        raise ConfigError(f"--ckpt_path {ckpt_path} needs the run", "add --run_dir runs/<technique>/<run_name>")
    return str(RunLayout(Path(run_dir)).checkpoint(ckpt_path))
