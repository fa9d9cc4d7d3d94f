"""The contract between techniques and callbacks: every technique is a `GANModule`, resolved values are typed
attributes beside the configuration's hparams, and the progress, budget and wall clock keep the checkpoint's keys."""

import typing

import pytest
import torch
from conftest import QUIET, REPO

from lightning_gans.commands.fit import GANCLI
from lightning_gans.techniques import TECHNIQUES
from lightning_gans.training.contract import GANModule, TrainingBudget, TrainingProgress, WallClock

SMALL = {"width": 8, "latent_dim": 8}


def admitted_types(declared) -> tuple[type, ...]:
    """The classes an annotation admits (Optional[list[str]]: list and NoneType)."""
    options = typing.get_args(declared) if typing.get_origin(declared) is typing.Union else (declared,)
    return tuple(typing.get_origin(option) or option for option in options)


@pytest.mark.parametrize("name", TECHNIQUES)
def test_every_technique_is_a_gan_module_with_members_of_the_declared_types(name):
    model = TECHNIQUES[name](**SMALL)
    assert isinstance(model, GANModule)
    for member, declared in typing.get_type_hints(GANModule).items():
        value = getattr(model, member)
        assert isinstance(value, admitted_types(declared)), (member, value)
    assert model.name == name and model.latent_dim == 8 and model.data_shape == (1, 32, 32)
    assert model.sample(torch.randn(2, 8)).shape == (2, 1, 32, 32)


def test_a_resolved_n_critic_is_an_attribute_and_hparams_keep_the_configuration(tmp_path):
    """SNGAN's n_critic null resolves to 1 for the MLP: the run trains one critic step per generator step, and the
    checkpoint's hyperparameters still say null."""
    GANCLI(args=["fit", "--config", str(REPO / "experiments" / "toy" / "sngan.yaml"), *QUIET, "--runs_root",
                 str(tmp_path), "--run_name", "resolved", "--model.n_critic", "null", "--model.width", "16",
                 "--model.max_g_steps", "3", "--data.batch_size", "16", "--toy_metrics.every_n_g_steps", "1000",
                 "--samples.every_n_g_steps", "1000"])
    checkpoint = torch.load(tmp_path / "sngan" / "resolved" / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["hyper_parameters"]["n_critic"] is None
    assert checkpoint["lightning_gans"]["d_step"] == checkpoint["lightning_gans"]["g_step"] == 3


def test_progress_round_trips_through_the_checkpoint_keys_and_the_wall_clock_sums_sessions(monkeypatch):
    now = iter([100.0, 130.0, 500.0, 512.0])
    monkeypatch.setattr("lightning_gans.training.contract.time.perf_counter", lambda: next(now))
    progress = TrainingProgress(d_step=12, g_step=3, round_critic_steps=2, images_seen=768)
    progress.clock.start_session()  # 100 s
    state = progress.state_dict()  # 130 s
    assert state == {"d_step": 12, "g_step": 3, "round_critic_steps": 2, "images_seen": 768, "wall_time_s": 30.0}
    resumed = TrainingProgress()
    resumed.load_state_dict(state)
    assert resumed.clock.seconds() == 30.0  # before its session starts
    resumed.clock.start_session()  # 500 s
    assert (resumed.d_step, resumed.g_step, resumed.kimg, resumed.clock.seconds()) == (12, 3, 0.768, 42.0)


def test_images_per_second_counts_the_images_and_seconds_since_a_mark():
    clock = WallClock()
    clock.seconds = lambda: 10.0
    progress = TrainingProgress(images_seen=1000, clock=clock)
    mark = progress.mark()
    progress.images_seen, clock.seconds = 1640, lambda: 12.0
    assert progress.images_per_second(mark) == 320.0


def test_the_budget_stops_at_whichever_limit_comes_first():
    both = TrainingBudget(max_g_steps=10, max_kimg=1.0)
    assert not both.reached(9, 999) and both.reached(10, 0) and both.reached(0, 1000)
    assert not TrainingBudget().reached(10**9, 10**12)
    assert TrainingBudget(max_kimg=1.0).in_kimg and not both.in_kimg and not TrainingBudget(max_g_steps=5).in_kimg
