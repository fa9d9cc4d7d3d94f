"""The adapters to what other libraries do not publish (`training.adapters`), each checked against the installed
version: a failure here means an upgrade changed what the adapter relies on, and names the adapter to update."""

import calendar
import os
from typing import Optional

import jsonargparse
import pytest

from lightning_gans.training.adapters import ArgumentErrorDetails, argument_error_details, wandb_credentials_configured


@pytest.fixture
def no_wandb_credentials(tmp_path, monkeypatch):
    """No WANDB_* variable, and a home of its own, so that a developer's netrc or settings cannot leak in."""
    for key in [key for key in os.environ if key.startswith("WANDB_")]:
        monkeypatch.delenv(key)
    for key, value in {"HOME": tmp_path, "NETRC": tmp_path / ".netrc", "WANDB_CONFIG_DIR": tmp_path / "config"}.items():
        monkeypatch.setenv(key, str(value))
    return tmp_path


def test_wandb_credentials_are_found_in_the_environment_without_a_prompt_and_not_kept(no_wandb_credentials, monkeypatch):
    assert wandb_credentials_configured() is False  # under pytest a prompt would raise: none is shown
    monkeypatch.setenv("WANDB_API_KEY", "0123456789" * 4)  # the format of a key; never sent anywhere
    assert wandb_credentials_configured() is True
    monkeypatch.delenv("WANDB_API_KEY")
    assert wandb_credentials_configured() is False, "the key found before was kept as the session's credentials"


def test_wandb_credentials_are_found_in_the_netrc_entry_of_wandbs_host(no_wandb_credentials):
    netrc = no_wandb_credentials / ".netrc"
    netrc.write_text(f"machine api.wandb.ai\n  login user\n  password {'0123456789' * 4}\n")
    netrc.chmod(0o600)
    assert wandb_credentials_configured() is True
    netrc.write_text(f"machine other.example\n  login user\n  password {'0123456789' * 4}\n")
    assert wandb_credentials_configured() is False


def parse_error(*args: str) -> ArgumentErrorDetails:
    """The details of the error that jsonargparse raises for `args`, on a parser like LightningCLI's: a subclass
    argument (as --model) and a typed one."""
    parser = jsonargparse.ArgumentParser(exit_on_error=False)
    parser.add_argument("--model", type=Optional[calendar.Calendar])
    parser.add_argument("--steps", type=int)
    with pytest.raises(jsonargparse.ArgumentError) as error:
        parser.parse_args(list(args))
    return argument_error_details(error.value)


@pytest.mark.parametrize("args, key, value, unknown_option, bad_import_path", [
    (["--model", "Foo"], "model", "Foo", None, True),
    (["--model.foo", "1"], "model", "1", "foo", False),
    (["--model", "calendar.TextCalendar", "--model.firstweekday", "abc"], "model.firstweekday", "abc", None, False),
    (["--steps", "abc"], "steps", "abc", None, False),
    (["--nonsense", "3"], None, None, "--nonsense 3", False),
])
def test_a_jsonargparse_error_is_read_into_its_key_value_and_unknown_option(args, key, value, unknown_option,
                                                                            bad_import_path):
    details = parse_error(*args)
    assert (details.key, details.value, details.unknown_option, details.bad_import_path) == (
        key, value, unknown_option, bad_import_path), f"jsonargparse {jsonargparse.__version__} words its errors otherwise"
    assert details.first_line and "\n" not in details.first_line
