"""Every adversarial loss equals its formula on hand-made scores."""

import math

import pytest
import torch

from lightning_gans.errors import ConfigError
from lightning_gans.objectives.losses import LOSSES, build_loss

REAL = [1.0, -2.0, 0.5]
FAKE = [0.5, 3.0, -1.0]


def softplus(s: float) -> float:
    return math.log1p(math.exp(s))


def mean(values) -> float:
    values = list(values)
    return sum(values) / len(values)


def losses(name, **kwargs) -> tuple[float, float]:
    """(D loss, G loss) of loss `name` on REAL and FAKE."""
    loss = build_loss(name, **kwargs)
    real, fake = torch.tensor(REAL), torch.tensor(FAKE)
    return loss.discriminator(real, fake).item(), loss.generator(fake).item()


def test_wasserstein():
    d_loss, g_loss = losses("wasserstein")
    assert d_loss == pytest.approx(2.5 / 3 - (-0.5 / 3))  # E[D(G(z))] - E[D(x)] = 1
    assert g_loss == pytest.approx(-2.5 / 3)


def test_hinge():
    d_loss, g_loss = losses("hinge")
    # relu(1 - real) = [0, 3, 0.5], relu(1 + fake) = [1.5, 4, 0]
    assert d_loss == pytest.approx(3.5 / 3 + 5.5 / 3)
    assert g_loss == pytest.approx(-2.5 / 3)


@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_non_saturating(smoothing):
    d_loss, g_loss = losses("non_saturating", label_smoothing=smoothing)
    expected_real = mean((1 - smoothing) * softplus(-r) + smoothing * softplus(r) for r in REAL)
    expected_d = expected_real + mean(map(softplus, FAKE))
    assert d_loss == pytest.approx(expected_d)
    assert g_loss == pytest.approx(mean(softplus(-f) for f in FAKE))


def test_minimax():
    d_loss, g_loss = losses("minimax")
    assert d_loss == pytest.approx(mean(softplus(-r) for r in REAL) + mean(map(softplus, FAKE)))
    assert g_loss == pytest.approx(-mean(map(softplus, FAKE)))  # = E[log(1 - sigmoid(D(G(z))))]


@pytest.mark.parametrize("name", ["non_saturating", "minimax"])
def test_label_smoothing_adds_a_times_the_mean_real_score(name):
    # softplus(s) - softplus(-s) = s, so smoothing a adds a * E[D(x)] to the D loss and leaves G's alone.
    smoothed_d, smoothed_g = losses(name, label_smoothing=0.2)
    plain_d, plain_g = losses(name)
    assert smoothed_d - plain_d == pytest.approx(0.2 * mean(REAL))
    assert smoothed_g == plain_g


def test_only_the_wasserstein_critic_estimates_a_distance():
    assert {name for name, loss in LOSSES.items() if loss.estimates_wasserstein} == {"wasserstein"}


@pytest.mark.parametrize("name", list(LOSSES))
def test_bf16_scores_give_float32_losses(name):
    loss = build_loss(name)
    real, fake = torch.tensor(REAL, dtype=torch.bfloat16), torch.tensor(FAKE, dtype=torch.bfloat16)
    assert loss.discriminator(real, fake).dtype == torch.float32
    assert loss.generator(fake).dtype == torch.float32


@pytest.mark.parametrize(
    "name, kwargs, key",
    [
        ("least_squares", {}, "model.loss='least_squares'"),
        ("non_saturating", {"label_smoothing": 1.0}, "model.label_smoothing=1.0"),
        ("non_saturating", {"label_smoothing": -0.1}, "model.label_smoothing=-0.1"),
        ("hinge", {"label_smoothing": 0.1}, "model.label_smoothing=0.1"),
    ],
)
def test_bad_configurations_are_one_line_config_errors(name, kwargs, key):
    with pytest.raises(ConfigError) as error:
        build_loss(name, **kwargs)
    assert key in str(error.value) and "\n" not in str(error.value)
