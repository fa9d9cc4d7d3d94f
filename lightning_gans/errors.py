"""One exception type for every bad input the user can fix, so the CLI can print it as one line."""


class ConfigError(ValueError):
    """A configuration value, path or file the user has to change; the message names the key and the fix."""


def require(condition: bool, key: str, value, allowed: str) -> None:
    """Raise ConfigError '<key>=<value> is invalid: <allowed>' unless `condition` holds."""
    if not condition:
        raise ConfigError(f"{key}={value!r} is invalid: {allowed}")


class TrainingDiverged(RuntimeError):
    """A loss, penalty or parameter became non-finite; the message names the step and the term."""
