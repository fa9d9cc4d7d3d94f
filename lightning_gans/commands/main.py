"""`lightning-gans COMMAND`: the entry point. `fit` is LightningCLI (`fit.py`); evaluate, bench and train-evaluator
are plain commands. Every error the user can fix is one line on stderr and exit 2; a diverged run exits 3, a run
stopped by SIGTERM or Ctrl+C 143 after saving a resumable checkpoint."""

import importlib
import re
import sys

from lightning_gans.errors import ConfigError, TrainingDiverged

PLAIN_COMMANDS = {"evaluate": "lightning_gans.commands.evaluate", "bench": "lightning_gans.commands.bench",
                  "train-evaluator": "lightning_gans.commands.train_evaluator"}


def one_line(error: Exception) -> str:
    """Condense one of jsonargparse's errors (they span many lines) into one line naming the key and the fix."""
    from lightning_gans.techniques import TECHNIQUES

    text = str(error)
    lines = [re.sub(r"^- ", "", line.strip()) for line in text.splitlines() if line.strip()]
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


def main(args=None) -> None:
    from jsonargparse import ArgumentError
    from pytorch_lightning.utilities.exceptions import SIGTERMException

    argv = sys.argv[1:] if args is None else list(args)
    try:
        if argv[:1] and argv[0] in PLAIN_COMMANDS:
            importlib.import_module(PLAIN_COMMANDS[argv[0]]).main(argv[1:])
            return
        from lightning_gans.commands.fit import GANCLI

        GANCLI(args=argv)
    except SIGTERMException:
        sys.exit(143)  # 128 + SIGTERM; GANCheckpoint has saved a resumable checkpoint and said where
    except TrainingDiverged as error:
        print(f"lightning-gans: error: {error}", file=sys.stderr)
        sys.exit(3)
    except ConfigError as error:
        print(f"lightning-gans: error: {error.problem}: {error.fix}", file=sys.stderr)
        sys.exit(2)
    except ArgumentError as error:
        print(f"lightning-gans: error: {one_line(error)}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
