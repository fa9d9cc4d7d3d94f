"""The statistics window: means over the steps that measured each key, reduced across processes, absent keys
left out, and a new window after each flush."""

import torch

from lightning_gans.training.stats import StatsWindow


def test_each_key_is_the_mean_of_its_own_measurements_and_unmeasured_keys_are_absent():
    window = StatsWindow()
    window.record({"loss/d": torch.tensor(1.0), "penalty/r1": torch.tensor(4.0)})
    window.record({"loss/d": torch.tensor(3.0)})
    window.record({"loss/d": torch.tensor(5.0, dtype=torch.float64)})
    assert window.flush() == {"loss/d": 3.0, "penalty/r1": 4.0}
    assert window.flush() == {}  # a new window: nothing measured since
    window.record({"loss/g": torch.tensor(2.0)})
    assert window.flush() == {"loss/g": 2.0}


def test_the_means_go_through_the_reduction_once_in_key_order():
    window, reduced = StatsWindow(), []
    window.record({"b": torch.tensor(2.0), "a": torch.tensor(1.0)})

    def reduce_mean(means):
        reduced.append(means.clone())
        return means * 10  # what the other processes' means would change

    assert window.flush(reduce_mean) == {"a": 10.0, "b": 20.0}
    assert len(reduced) == 1 and torch.equal(reduced[0], torch.tensor([1.0, 2.0]))


def test_recorded_values_are_detached_copies():
    window, value = StatsWindow(), torch.tensor(1.0, requires_grad=True)
    window.record({"x": value * 2})
    p = torch.tensor(0.5, dtype=torch.float64)
    window.record({"p": p})
    p.add_(1.0)  # an in-place change after recording (ADA moves its p buffer so)
    assert window.flush() == {"x": 2.0, "p": 0.5}
