"""The logging window of training statistics (`training.stats.StatsWindow`), on given measurements."""

import torch

from lightning_gans.training.stats import StatsWindow


def test_each_key_is_the_mean_of_the_steps_that_measured_it_since_the_last_flush():
    window = StatsWindow()
    window.record({"loss/d": torch.tensor(1.0), "penalty/r1": torch.tensor(4.0)})
    window.record({"loss/d": torch.tensor(2.0)})  # a lazy penalty is not measured at every step
    window.record({"loss/d": torch.tensor(6.0)})
    assert window.flush() == {"loss/d": 3.0, "penalty/r1": 4.0}


def test_a_flush_starts_a_new_window_and_leaves_out_keys_it_did_not_measure():
    window = StatsWindow()
    window.record({"loss/d": torch.tensor(1.0), "penalty/r1": torch.tensor(4.0)})
    window.flush()
    assert window.flush() == {}
    window.record({"loss/d": torch.tensor(5.0)})
    assert window.flush() == {"loss/d": 5.0}


def test_the_means_are_reduced_over_processes_by_the_given_function_in_key_order():
    window = StatsWindow()
    window.record({"b": torch.tensor(2.0), "a": torch.tensor(1.0)})
    reduced = []

    def reduce_mean(means: torch.Tensor) -> torch.Tensor:
        reduced.append(means.clone())
        return means * 10  # as if the other processes had measured more

    assert window.flush(reduce_mean) == {"a": 10.0, "b": 20.0}
    assert [tensor.tolist() for tensor in reduced] == [[1.0, 2.0]]  # one collective call for all keys, sorted


def test_a_measurement_with_a_graph_or_of_integers_comes_back_as_a_float():
    window = StatsWindow()
    weight = torch.tensor(3.0, requires_grad=True)
    window.record({"loss/g": weight * 2, "count": torch.tensor(3)})
    means = window.flush(lambda t: t)
    assert means == {"count": 3.0, "loss/g": 6.0}
    assert all(isinstance(value, float) for value in means.values())


def test_recorded_values_are_detached_copies():
    window, value = StatsWindow(), torch.tensor(1.0, requires_grad=True)
    window.record({"x": value * 2})
    p = torch.tensor(0.5, dtype=torch.float64)
    window.record({"p": p})
    p.add_(1.0)  # an in-place change after recording (ADA moves its p buffer so)
    assert window.flush() == {"x": 2.0, "p": 0.5}
