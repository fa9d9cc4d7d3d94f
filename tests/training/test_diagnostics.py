"""The diagnostics are right on cases with a known answer."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrizations

from lightning_gans import WGANGP
from lightning_gans.nets.stylegan import StyleCritic
from lightning_gans.training.diagnostics import layer_singular_values, learning_rates


class LinearCritic(nn.Module):
    """D(x) = w . x + b: its input gradient is w everywhere."""

    def __init__(self, dim: int):
        super().__init__()
        self.head = nn.Linear(dim, 1)

    def forward(self, x):
        return self.head(x).squeeze(1)


def test_gradient_norms_and_singular_value_of_a_linear_critic_are_the_norm_of_its_weight():
    torch.manual_seed(0)
    model = WGANGP(data_shape=(2,), architecture="mlp", width=8)
    model.critic = LinearCritic(2)
    with torch.no_grad():
        model.critic.head.weight.copy_(torch.tensor([[3.0, -4.0]]))
    diagnostics = model.critic_diagnostics(torch.randn(16, 2), torch.randn(16, 2) * 3)
    assert set(diagnostics) == {"critic/grad_norm_real", "critic/grad_norm_fake", "critic/grad_norm_interp",
                                "critic/sigma_max/head"}
    for key, value in diagnostics.items():
        assert value.item() == pytest.approx(5.0, rel=1e-6), key


def test_singular_values_match_the_matrix_2_norm_of_linear_and_reshaped_conv_weights():
    torch.manual_seed(0)
    network = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 4 * 4, 5), nn.Linear(5, 1))
    values = layer_singular_values(network)
    assert sorted(values) == ["0", "3", "4"]
    assert values["0"].item() == pytest.approx(torch.linalg.matrix_norm(network[0].weight.reshape(8, 27), ord=2).item(), rel=1e-5)
    for name in ("3", "4"):
        assert values[name].item() == pytest.approx(torch.linalg.matrix_norm(network[int(name)].weight, ord=2).item(), rel=1e-5)
    assert values["4"].item() == pytest.approx(network[4].weight.norm().item(), rel=1e-5)  # a row vector: its norm


def test_singular_values_of_spectral_normed_layers_are_those_of_the_effective_weight_without_a_power_step():
    torch.manual_seed(0)
    network = nn.Sequential(parametrizations.spectral_norm(nn.Linear(6, 4)),
                            parametrizations.spectral_norm(nn.Conv2d(2, 3, 3)))
    for _ in range(20):  # train-mode accesses run the power iteration until the estimate of sigma converges
        network[0].weight, network[1].weight
    power_vector = network[0].parametrizations.weight[0]._u.clone()
    values = layer_singular_values(network)
    assert network.training and torch.equal(network[0].parametrizations.weight[0]._u, power_vector)
    network.eval()
    expected = {"0": network[0].weight, "1": network[1].weight.reshape(3, 18)}
    for name, weight in expected.items():
        assert values[name].item() == pytest.approx(torch.linalg.matrix_norm(weight, ord=2).item(), rel=1e-5)
        assert values[name].item() == pytest.approx(1.0, abs=1e-3)  # W / sigma(W) has spectral norm 1


def test_singular_values_of_equalized_lr_layers_are_those_of_the_weight_they_apply():
    torch.manual_seed(0)
    critic = StyleCritic(image_channels=1, resolution=8, width=4)
    values = layer_singular_values(critic)
    layers = dict(critic.named_modules())
    assert sorted(values) == ["blocks.0.conv0", "blocks.0.conv1", "blocks.0.skip", "conv", "fc", "from_rgb", "out"]
    for name, value in values.items():
        applied = layers[name].weight.flatten(1) * layers[name].weight_gain
        assert value.item() == pytest.approx(torch.linalg.matrix_norm(applied, ord=2).item(), rel=1e-5), name


def test_learning_rates_are_read_from_the_optimizers():
    parameter = nn.Parameter(torch.zeros(1))
    optimizers = {"g": torch.optim.Adam([parameter], lr=1e-4), "d": torch.optim.RMSprop([parameter], lr=3e-4)}
    assert learning_rates(optimizers) == {"lr/g": 1e-4, "lr/d": 3e-4}
