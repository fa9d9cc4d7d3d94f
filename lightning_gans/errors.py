"""Errors the user can act on. A ConfigError carries what is wrong and how to fix it, so every command prints it
as one line and exits 2; TrainingDiverged stops a run whose numbers broke (exit 3)."""

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Iterator

_collected: ContextVar[list | None] = ContextVar("lightning_gans_config_errors", default=None)


class ConfigError(ValueError):
    """A configuration value, path or file the user has to change. `problem` says what is wrong, `fix` what to do,
    and `key` and `value` name the setting when there is one; `str()` is the one line `problem: fix`."""

    def __init__(self, problem: str, fix: str, key: str | None = None, value=None):
        super().__init__(f"{problem}: {fix}")
        self.problem, self.fix, self.key, self.value = problem, fix, key, value
        if (collected := _collected.get()) is not None:
            collected.append(self)

    def __reduce__(self):  # exceptions cross process boundaries pickled
        return type(self), (self.problem, self.fix, self.key, self.value)


@contextmanager
def collect_config_errors() -> Iterator[list[ConfigError]]:
    """The ConfigErrors raised inside the block, for a caller whose library reports exceptions as text only
    (jsonargparse wraps a constructor's error into a ValueError listing every type it tried)."""
    collected: list[ConfigError] = []
    token = _collected.set(collected)
    try:
        yield collected
    finally:
        _collected.reset(token)


def require(condition: bool, key: str, value, fix: str) -> None:
    """Raise ConfigError '<key>=<value> is invalid: <fix>' unless `condition` holds."""
    if not condition:
        raise ConfigError(f"{key}={value!r} is invalid", fix, key, value)


def first_line(error: Exception) -> str:
    """The first line of an error's message (its type's name when it has none), to quote inside a ConfigError."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0]


class TrainingDiverged(RuntimeError):
    """A loss, penalty or parameter became non-finite; the message names the step and the term."""
