"""Where the built-in configs are: `experiments/` at the repository's top level, shipped inside the package as
`lightning_gans/experiments` (a link to it in the repository, package data in a wheel). The command line resolves
config names against it (`commands/configs.py`) and the bench globs its presets' configs there."""

from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parent / "experiments"
