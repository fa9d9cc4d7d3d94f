"""The evaluation protocols: one table of defaults shared by the training callbacks and a run's config section, and
unknown keys refused in one line."""

import inspect
from dataclasses import fields

import pytest

from lightning_gans.errors import ConfigError
from lightning_gans.metrics.protocol import FIDProtocol, ToyProtocol
from lightning_gans.training.metric_callbacks import FIDCallback, ToyMetrics


def test_a_config_section_gets_the_defaults_for_what_it_leaves_out_and_its_schedule_is_not_protocol():
    protocol = FIDProtocol.from_config({"extractor": "lenet-fmnist", "num_samples": 2000, "every_n_g_steps": 100})
    assert protocol == FIDProtocol(extractor="lenet-fmnist", num_samples=2000)
    assert protocol.reference_split == "train" and protocol.batch_size == 250 and protocol.seed == 0
    assert FIDProtocol.from_config(None) == FIDProtocol()
    assert ToyProtocol.from_config({"every_n_g_steps": 10, "seed": 3}) == ToyProtocol(num_samples=2500, seed=3)


def test_an_unknown_key_is_a_one_line_config_error_naming_it():
    with pytest.raises(ConfigError) as error:
        FIDProtocol.from_config({"extractor": "inception", "num_sample": 10})
    assert str(error.value).startswith("fid.num_sample is not a setting of the fid protocol: use extractor, num_samples")
    assert "\n" not in str(error.value) and error.value.key == "fid.num_sample"
    with pytest.raises(ConfigError, match="toy_metrics.samples is not a setting"):
        ToyProtocol.from_config({"samples": 10})


def test_a_bad_value_is_refused_as_the_callback_refused_it():
    with pytest.raises(ConfigError, match=r"fid.reference_split='val' is invalid: choose train or test"):
        FIDProtocol.from_config({"reference_split": "val"})


@pytest.mark.parametrize("callback, protocol", [(FIDCallback, FIDProtocol), (ToyMetrics, ToyProtocol)])
def test_the_callbacks_take_the_protocols_fields_with_the_protocols_defaults(callback, protocol):
    parameters = inspect.signature(callback).parameters
    assert set(parameters) == {f.name for f in fields(protocol)} | {"every_n_g_steps"}
    assert {f.name: f.default for f in fields(protocol)} == {
        name: p.default for name, p in parameters.items() if name != "every_n_g_steps"}
    assert callback().protocol == protocol()
