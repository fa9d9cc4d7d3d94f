"""Networks: shapes and ranges, spectral norm, the ConfigErrors of unsupported data, channels_last and bf16."""

import pytest
import torch
from conftest import one_line_config_error
from torch import nn

from lightning_gans.errors import ConfigError
from lightning_gans.nets import ARCHITECTURES, CONV_AND_LINEAR, build_networks

IMAGE_ARCHITECTURES = ["cnn", "resnet"]
DATA_SHAPES = {"cnn": (3, 32, 32), "resnet": (3, 32, 32), "mlp": (2,)}


def spectrally_normalised_layers(critic: nn.Module) -> list[nn.Module]:
    return [layer for layer in critic.modules() if isinstance(layer, CONV_AND_LINEAR)]


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("architecture", IMAGE_ARCHITECTURES)
def test_image_networks_have_the_paper_shapes(architecture, channels):
    torch.manual_seed(0)
    generator, critic = build_networks(architecture, (channels, 32, 32), latent_dim=128)
    images = generator(torch.randn(4, 128))
    assert generator.latent_dim == 128
    assert images.shape == (4, channels, 32, 32)
    assert images.min() >= -1 and images.max() <= 1
    assert critic(images).shape == (4,)
    n_features = {"cnn": 512 * 4 * 4, "resnet": 128}[architecture]
    assert critic.features(images).shape == (4, n_features)
    assert critic.head.in_features == n_features and critic.head.out_features == 1


def test_mlp_shapes_and_width():
    generator, critic = build_networks("mlp", (2,), latent_dim=2)
    points = generator(torch.randn(5, 2))
    assert points.shape == (5, 2)
    assert critic(points).shape == (5,)
    assert critic.features(points).shape == (5, 512)
    _, narrow_critic = build_networks("mlp", (2,), latent_dim=2, width=64)
    assert narrow_critic.features(points).shape == (5, 64)


def test_mlp_depth_gives_that_many_hidden_layers_in_g_and_d():
    for depth in (1, 3, 4):
        generator, critic = build_networks("mlp", (2,), latent_dim=2, width=16, depth=depth)
        g_linears = [m for m in generator.modules() if isinstance(m, torch.nn.Linear)]
        d_linears = [m for m in critic.body.modules() if isinstance(m, torch.nn.Linear)]
        assert (len(g_linears), len(d_linears)) == (depth + 1, depth)  # G's output layer; D's head is apart
        assert [m.out_features for m in g_linears] == [16] * depth + [2]
        assert sum(isinstance(m, torch.nn.ReLU) for m in critic.modules()) == depth


def test_depth_is_an_mlp_option_only():
    assert "model.depth" in one_line_config_error(lambda: build_networks("cnn", (3, 32, 32), 8, width=4, depth=4))
    assert "model.depth" in one_line_config_error(lambda: build_networks("mlp", (2,), 2, depth=0))


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_spectral_norm_bounds_every_critic_layer_by_one(architecture):
    torch.manual_seed(0)
    data_shape = (3, 8, 8) if architecture in IMAGE_ARCHITECTURES else (2,)
    _, critic = build_networks(architecture, data_shape, latent_dim=16, width=16, spectral_norm=True)
    x = torch.randn(1, *data_shape)
    with torch.no_grad():
        for _ in range(300):  # each forward pass in train mode runs one power iteration per layer
            critic(x)
    layers = spectrally_normalised_layers(critic)
    assert layers and all(hasattr(layer, "parametrizations") for layer in layers)
    for layer in layers:
        weight = layer.weight.detach()
        sigma = torch.linalg.matrix_norm(weight.reshape(weight.shape[0], -1), ord=2)
        assert abs(sigma.item() - 1) < 0.05


def test_n_power_iterations_reaches_every_layer_and_only_the_critic_is_normalised():
    generator, critic = build_networks(
        "cnn", (1, 32, 32), latent_dim=16, width=8, spectral_norm=True, n_power_iterations=3
    )
    layers = spectrally_normalised_layers(critic)
    assert all(layer.parametrizations.weight[0].n_power_iterations == 3 for layer in layers)
    assert not any(hasattr(layer, "parametrizations") for layer in generator.modules())


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_critics_have_no_batchnorm(architecture):
    _, critic = build_networks(architecture, DATA_SHAPES[architecture], latent_dim=16, width=8, critic_dropout=0.5)
    assert not any("BatchNorm" in type(module).__name__ for module in critic.modules())


@pytest.mark.parametrize(
    "architecture, data_shape, key",
    [
        ("cnn", (3, 30, 30), "data.resolution=30"),
        ("resnet", (1, 36, 36), "data.resolution=36"),
        ("cnn", (3, 32, 48), "data_shape=(3, 32, 48)"),
        ("cnn", (2,), "model.architecture='cnn'"),
        ("resnet", (2,), "model.architecture='resnet'"),
        ("mlp", (1, 32, 32), "model.architecture='mlp'"),
        ("vgg", (3, 32, 32), "model.architecture='vgg'"),
    ],
)
def test_unsupported_data_is_a_one_line_config_error(architecture, data_shape, key):
    with pytest.raises(ConfigError) as error:
        build_networks(architecture, data_shape, latent_dim=16)
    message = str(error.value)
    assert key in message and "\n" not in message


def test_error_messages_name_the_fix():
    with pytest.raises(ConfigError, match="multiple of 8 such as 32"):
        build_networks("cnn", (3, 30, 30), latent_dim=16)
    with pytest.raises(ConfigError, match="use model.architecture=mlp"):
        build_networks("cnn", (2,), latent_dim=16)
    with pytest.raises(ConfigError, match=r"\['cnn', 'mlp', 'resnet'\]"):
        build_networks("vgg", (3, 32, 32), latent_dim=16)


@pytest.mark.parametrize("architecture", IMAGE_ARCHITECTURES)
def test_channels_last_gives_the_same_scores(architecture):
    torch.manual_seed(0)
    generator, critic = build_networks(architecture, (3, 16, 16), latent_dim=16, width=8, spectral_norm=True)
    critic.eval()  # freeze the power iteration so both passes see the same weights
    images = torch.randn(4, 3, 16, 16)
    expected = critic(images)
    generator.to(memory_format=torch.channels_last)
    critic.to(memory_format=torch.channels_last)
    torch.testing.assert_close(critic(images.contiguous(memory_format=torch.channels_last)), expected)
    assert generator(torch.randn(4, 16)).shape == (4, 3, 16, 16)


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
def test_networks_run_under_bf16_autocast(architecture):
    torch.manual_seed(0)
    data_shape = DATA_SHAPES[architecture]
    generator, critic = build_networks(architecture, data_shape, latent_dim=16, width=8, spectral_norm=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        scores = critic(generator(torch.randn(4, 16)))
    assert scores.shape == (4,) and torch.isfinite(scores).all()
