"""The argument parser of the plain commands (evaluate, bench, train-evaluator): a bad command line is a
ConfigError, printed as one line like every other bad input (argparse prints usage and exits on its own)."""

import argparse

from lightning_gans.errors import ConfigError


class OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):
        raise ConfigError(f"the {self.prog} command line is invalid", f"{message}; see `{self.prog} --help`")
