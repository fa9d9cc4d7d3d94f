"""`lightning-gans COMMAND`: the entry point. `fit` is LightningCLI (`fit.py`); the others are plain commands.
The command list (`--help`, or no arguments) is printed before Lightning is imported.

Exit codes: 0 done; 2 bad input (one line on stderr naming the problem and the fix); 3 a diverged run; 130 Ctrl+C
and 143 SIGTERM, both after saving a resumable checkpoint (`training.checkpoints.GANCheckpoint`)."""

import importlib
import signal
import sys
import warnings

from lightning_gans.commands.configs import require_config
from lightning_gans.errors import ConfigError, TrainingDiverged

# name: (module with main(argv), one line for the command list)
COMMANDS = {
    "fit": ("lightning_gans.commands.fit", "train a technique: fit --config NAME|FILE [--key value ...]"),
    "evaluate": ("lightning_gans.commands.evaluate", "score a checkpoint with its run's protocol (FID/KID or toy metrics)"),
    "generate": ("lightning_gans.commands.generate", "write a checkpoint's samples: PNGs, .npz, a grid, a GIF"),
    "bench": ("lightning_gans.commands.bench", "train every technique on the same data, budget and seeds; a table"),
    "train-evaluator": ("lightning_gans.commands.train_evaluator", "train the classifier behind the lenet-* extractors"),
}
HELP_FLAGS = ("-h", "--help")


def command_list() -> str:
    lines = ["usage: lightning-gans COMMAND [options]   (lightning-gans COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<16} {line}" for name, (_, line) in COMMANDS.items()]
    return "\n".join(lines)


def one_line(error: Exception) -> str:
    """Condense one of jsonargparse's errors (they span many lines) into one line naming the key and the fix."""
    from lightning_gans.techniques import TECHNIQUES
    from lightning_gans.training.adapters import argument_error_details

    details = argument_error_details(error)
    key, value = details.key, details.value or "?"
    if details.unknown_option:
        name = f"{key}.{details.unknown_option}" if key else details.unknown_option
        return f"unknown config key {name}: see `lightning-gans fit --help` for the keys"
    if key == "model" and details.bad_import_path:
        return f"model={value} is not a known technique: choose one of {', '.join(t.__name__ for t in TECHNIQUES.values())}"
    if key:
        return f"{key}={value} is invalid: see `lightning-gans fit --help` for what {key} accepts"
    return details.first_line or type(error).__name__


def run(argv: list[str]) -> None:
    if not argv or argv[0] in HELP_FLAGS:
        print(command_list())
        sys.exit(0 if argv else 2)
    if argv[0] not in COMMANDS:
        raise ConfigError(f"unknown command {argv[0]!r}", f"choose one of {', '.join(COMMANDS)} (see lightning-gans --help)")
    if argv[0] == "fit":
        require_config(argv[1:])  # before Lightning is imported: the message comes at once
    # Lightning's CLI calls jsonargparse APIs that later jsonargparse versions deprecate: not the user's to act on
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"pytorch_lightning\.cli")
    importlib.import_module(COMMANDS[argv[0]][0]).main(argv[1:])


def main(args=None) -> None:
    argv = sys.argv[1:] if args is None else list(args)
    try:
        run(argv)
    except ConfigError as error:
        print(f"lightning-gans: error: {error.problem}: {error.fix}", file=sys.stderr)
        sys.exit(2)
    except TrainingDiverged as error:
        print(f"lightning-gans: error: {error}", file=sys.stderr)
        sys.exit(3)
    except KeyboardInterrupt:  # Ctrl+C before training started (during training GANCheckpoint stops at a step)
        sys.exit(128 + signal.SIGINT)
    except SystemExit as stop:
        lightning = sys.modules.get("pytorch_lightning.utilities.exceptions")
        if lightning and isinstance(stop, lightning.SIGTERMException):
            # GANCheckpoint has saved a resumable checkpoint, said where, and tagged the signal (SIGINT or SIGTERM)
            sys.exit(128 + getattr(stop, "signum", signal.SIGTERM))
        raise
    except Exception as error:
        jsonargparse = sys.modules.get("jsonargparse")
        if jsonargparse and isinstance(error, jsonargparse.ArgumentError):
            print(f"lightning-gans: error: {one_line(error)}", file=sys.stderr)
            sys.exit(2)
        raise

if __name__ == "__main__":
    main()
