"""A checkpoint is read once before training: resuming and fine-tuning open it a single time before Lightning
restores it, and what was read decides the fit check and the budget check."""

import pytest
import torch
from conftest import QUIET, TOY_CONFIG

from lightning_gans.commands.fit import GANCLI
from lightning_gans.commands.main import main
from lightning_gans.errors import ConfigError
from lightning_gans.run.checkpoint import CheckpointInfo
from lightning_gans.run.layout import RunLayout

RUN = ["fit", "--config", TOY_CONFIG, *QUIET, "--model.width", "16", "--logger", "none",
       "--samples.every_n_g_steps", "1000", "--toy_metrics.every_n_g_steps", "1000"]


def count_loads_before_fit(monkeypatch) -> list[int]:
    """torch.load calls counted until LightningCLI calls fit (Lightning's own restore comes after)."""
    loads, at_fit = [0], []
    real_load = torch.load

    def counting_load(*args, **kwargs):
        loads[0] += 1
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", counting_load)
    monkeypatch.setattr(GANCLI, "before_fit", lambda cli: at_fit.append(loads[0]), raising=False)
    return at_fit


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    runs = tmp_path_factory.mktemp("runs")
    main([*RUN, "--runs_root", str(runs), "--run_name", "first", "--model.max_g_steps", "2"])
    return RunLayout.under(runs, "wgan_gp", "first")


def test_resuming_opens_the_checkpoint_once_before_training(first_run, monkeypatch):
    at_fit = count_loads_before_fit(monkeypatch)
    main([*RUN, "--runs_root", str(first_run.root.parents[1]), "--run_name", "first", "--ckpt_path", "last",
          "--model.max_g_steps", "3"])
    assert at_fit == [1]
    assert CheckpointInfo.load(first_run.last_checkpoint).g_step == 3  # the command line's budget applied


def test_fine_tuning_opens_the_checkpoint_once_before_training(first_run, tmp_path, monkeypatch):
    at_fit = count_loads_before_fit(monkeypatch)
    main([*RUN, "--runs_root", str(tmp_path), "--run_name", "tuned", "--init_from", str(first_run.best_checkpoint),
          "--model.max_g_steps", "1"])
    assert at_fit == [1]


def test_what_was_read_holds_the_counters_and_refuses_other_networks(first_run):
    info = CheckpointInfo.load(first_run.best_checkpoint)
    assert info.g_step >= 1 and info.images_seen > 0 and info.path == first_run.best_checkpoint
    with pytest.raises(ConfigError, match="holds other networks than the configuration builds: resume with"):
        info.require_fits(torch.nn.Linear(2, 2))


def test_a_file_that_is_not_a_checkpoint_is_one_line(tmp_path):
    (tmp_path / "x.ckpt").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match=r"x.ckpt is corrupt or unreadable \(\w+\): resume from another file"):
        CheckpointInfo.load(tmp_path / "x.ckpt")
    with pytest.raises(ConfigError, match="not found"):
        CheckpointInfo.load(tmp_path / "missing.ckpt")
