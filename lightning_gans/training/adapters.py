"""The only places this package relies on what other libraries do not publish; everything else uses their public
APIs. Each function says what it relies on and why no public API serves; tests/training/test_adapters.py checks
each against the installed version and fails, naming the function, when an upgrade changes what it relies on.

Checked with wandb 0.31 and jsonargparse 4.48 and 4.53. The libraries are imported inside the functions: the
command list is printed before any of them is imported.
"""

import re
from dataclasses import dataclass
from typing import Optional


def wandb_credentials_configured() -> bool:
    """Whether wandb finds credentials for its host (WANDB_API_KEY, a netrc entry from `wandb login`, or wandb's
    settings), without prompting and without keeping them for the session.

    Relies on `wandb.sdk.wandb_setup.singleton().settings.base_url` (the host, with WANDB_BASE_URL and the settings
    files applied) and `wandb.sdk.lib.wbauth.authenticate_session(prompt=False, update_session=False)`. The public
    `wandb.login(prompt=False, verify=False)` answers the same question, but keeps what it finds as the process's
    credentials and rewrites wandb's settings file: a check would change what it checks."""
    from wandb.sdk import wandb_setup
    from wandb.sdk.lib import wbauth

    host = wandb_setup.singleton().settings.base_url
    return wbauth.authenticate_session(host=host, source="lightning-gans", prompt=False, update_session=False) is not None


@dataclass(frozen=True)
class ArgumentErrorDetails:
    """What one of jsonargparse's parse errors is about: the parser key (nested keys joined by '.'), the value
    given to it, an option no parser accepts, whether a class path failed to import, and the error's first line."""

    key: Optional[str]
    value: Optional[str]
    unknown_option: Optional[str]
    bad_import_path: bool
    first_line: str


def argument_error_details(error: Exception) -> ArgumentErrorDetails:
    """The fields of a jsonargparse ArgumentError, read from its text.

    jsonargparse raises `argparse.ArgumentError(None, message)`: the key and the value exist only in the message,
    as `Parser key "<key>":` (once per nesting level), `Got value: <value>` or `Given value: <value>` (a nested
    option's as `NestedArg(key=..., val=...)`) after the innermost key,
    `Option '<name>' is not accepted` or `unrecognized arguments: <args>`, and `Expected a dot import path`."""
    text = str(error)
    lines = [re.sub(r"^- ", "", line.strip()) for line in text.splitlines() if line.strip()]
    key = ".".join(re.findall(r'Parser key "([^"]+)"', text)) or None
    unknown = re.search(r"Option '([^']+)' is not accepted", text) or re.search(r"nrecognized arguments: (.+)", text)
    innermost = text[text.rfind("Parser key"):]
    given = (re.search(r"Got value: (.+)", innermost)
             or re.search(r"Given value: NestedArg\(key='[^']*', val='(.*)'\)", innermost)
             or re.search(r"Given value: (.+)", innermost))
    return ArgumentErrorDetails(key=key, value=given.group(1) if given else None,
                                unknown_option=unknown.group(1) if unknown else None,
                                bad_import_path="import path" in text, first_line=lines[0] if lines else "")
