"""The built-in configs (`lightning_gans.builtin.EXPERIMENTS`), found from any working directory and under
`pip install .`. `--config sngan` names `experiments/sngan.yaml`, `--config toy/sngan`
the toy one; a path that exists is taken as it is."""

import sys
from pathlib import Path
from typing import Optional

from lightning_gans.builtin import EXPERIMENTS
from lightning_gans.errors import ConfigError


def builtin_configs() -> list[str]:
    """Names of the built-in configs, e.g. ['r1gan', ..., 'toy/wgan_gp']."""
    return sorted(str(path.relative_to(EXPERIMENTS).with_suffix("")) for path in EXPERIMENTS.rglob("*.yaml"))


def resolve_config(value: str) -> str:
    """`value` when it is an existing file (or not a config name), else the built-in config it names."""
    builtin = EXPERIMENTS / f"{value.removesuffix('.yaml')}.yaml"
    return str(builtin) if not Path(value).exists() and builtin.is_file() else value


def resolve_config_args(args: Optional[list[str]]) -> list[str]:
    """The command line with each `--config NAME` (or `--config=NAME`) of a built-in config replaced by its path."""
    args = list(sys.argv[1:] if args is None else args)
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            args[i + 1] = resolve_config(args[i + 1])
        elif arg.startswith("--config="):
            args[i] = "--config=" + resolve_config(arg.split("=", 1)[1])
    return args


def require_config(args: list[str]) -> None:
    """`fit` needs `--config` (a file or a built-in config), unless it only asks for help."""
    asks_help = any(arg in ("-h", "--help") or arg.split("=")[0].endswith(".help") or arg.startswith("--print_config")
                    for arg in args)
    if not asks_help and not any(arg == "--config" or arg.startswith("--config=") for arg in args):
        raise ConfigError("fit needs --config", f"pass a config file or a built-in config: {', '.join(builtin_configs())}")
