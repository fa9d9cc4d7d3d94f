"""The check that a checkpoint holds the networks the configuration builds (`CheckpointInfo.require_fits`), on
checkpoints written by the test."""

import torch
from conftest import one_line_config_error
from torch import nn

from lightning_gans.run.checkpoint import CheckpointInfo


def networks(width: int) -> nn.Module:
    return nn.Sequential(nn.Linear(2, width), nn.ReLU(), nn.Linear(width, 1))


def saved(tmp_path, model: nn.Module) -> CheckpointInfo:
    path = tmp_path / "last.ckpt"
    torch.save({"state_dict": model.state_dict(), "lightning_gans": {"g_step": 1, "images_seen": 64}}, path)
    return CheckpointInfo.load(path)


def test_a_checkpoint_of_the_same_networks_fits_and_holds_their_weights(tmp_path):
    model = networks(8)
    info = saved(tmp_path, model)
    info.require_fits(networks(8))
    assert all(torch.equal(info.state_dict[key], value) for key, value in model.state_dict().items())


def test_networks_of_another_width_are_refused_in_one_line_with_the_fix(tmp_path):
    info = saved(tmp_path, networks(8))
    message = one_line_config_error(lambda: info.require_fits(networks(16)))
    assert message == (f"checkpoint {info.path} holds other networks than the configuration builds: resume with "
                       "--config <run directory>/config.yaml")


def test_tensors_of_the_same_shapes_under_other_names_are_refused(tmp_path):
    info = saved(tmp_path, networks(8))
    renamed = nn.Sequential(nn.Linear(2, 8), nn.ReLU())
    renamed.add_module("head", nn.Linear(8, 1))  # "head.weight" where the checkpoint has "2.weight"
    message = one_line_config_error(lambda: info.require_fits(renamed, fix="configure the networks"))
    assert message.endswith("holds other networks than the configuration builds: configure the networks")
