"""Penalties against closed forms (a linear critic, whose input gradient is w) and independent per-sample
gradients of a small MLP critic, and under bf16 autocast against float32; weight clipping; the consistency term."""

import pytest
import torch
from torch import nn

from lightning_gans import WGANGP
from lightning_gans.nets import Critic, build_networks
from lightning_gans.objectives.penalties import (
    clip_weights,
    consistency_term,
    critic_gradient_norm,
    gradient_penalty,
    r1_penalty,
    r2_penalty,
)


def linear_critic(weight: list[float]) -> Critic:
    """D(x) = w . flatten(x) + 0.3, so grad D(x) = w everywhere."""
    critic = Critic(nn.Flatten(), len(weight))
    with torch.no_grad():
        critic.head.weight.copy_(torch.tensor([weight]))
        critic.head.bias.fill_(0.3)
    return critic


def mlp_critic(dropout: float = 0.0) -> Critic:
    torch.manual_seed(0)
    return build_networks("mlp", (2,), latent_dim=2, width=16, critic_dropout=dropout)[1]


def samples(seed: int, shape=(6, 2)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def per_sample_gradients(critic: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """grad D(x_i) one sample at a time: independent of the batched computation under test."""
    rows = []
    for sample in x:
        sample = sample.unsqueeze(0).requires_grad_(True)
        (gradient,) = torch.autograd.grad(critic(sample).sum(), sample)
        rows.append(gradient.flatten())
    return torch.stack(rows)


# ---------------------------------------------------------------------------------- linear critic: closed forms
SHORT, LONG = [0.3, 0.4], [3.0, 4.0]  # ||w|| = 0.5 and 5


@pytest.mark.parametrize("weight, norm", [(SHORT, 0.5), (LONG, 5.0)])
def test_linear_critic_penalties_have_closed_forms(weight, norm):
    critic = linear_critic(weight)
    real, fake = samples(0), samples(1)
    torch.testing.assert_close(gradient_penalty(critic, real, fake), torch.tensor((norm - 1) ** 2))
    one_sided = gradient_penalty(critic, real, fake, one_sided=True)
    torch.testing.assert_close(one_sided, torch.tensor(max(0.0, norm - 1) ** 2))
    torch.testing.assert_close(r1_penalty(critic, real), torch.tensor(norm**2))
    torch.testing.assert_close(r2_penalty(critic, fake), torch.tensor(norm**2))
    torch.testing.assert_close(critic_gradient_norm(critic, real), torch.full((6,), norm))


def test_images_are_flattened_per_sample_also_in_channels_last():
    weight = torch.randn(1 * 4 * 4, generator=torch.Generator().manual_seed(2))
    critic = linear_critic(weight.tolist())
    images = samples(3, (5, 1, 4, 4)).contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(critic_gradient_norm(critic, images), weight.norm().expand(5))
    torch.testing.assert_close(r1_penalty(critic, images), weight.norm() ** 2)


# ------------------------------------------------------------------------ MLP critic: independent computation
@pytest.mark.parametrize("one_sided", [False, True])
def test_gradient_penalty_matches_per_sample_gradients_at_the_same_interpolates(one_sided):
    critic, real, fake = mlp_critic(), samples(0), samples(1)
    torch.manual_seed(7)
    penalty = gradient_penalty(critic, real, fake, one_sided=one_sided)
    torch.manual_seed(7)
    alpha = torch.rand(real.shape[0], 1)
    excess = per_sample_gradients(critic, alpha * real + (1 - alpha) * fake).norm(dim=1) - 1
    expected = (excess.clamp(min=0) if one_sided else excess).pow(2).mean()
    torch.testing.assert_close(penalty, expected, rtol=1e-6, atol=1e-6)


def test_r1_r2_and_gradient_norm_match_per_sample_gradients():
    critic, real, fake = mlp_critic(), samples(0), samples(1)
    real_gradients, fake_gradients = per_sample_gradients(critic, real), per_sample_gradients(critic, fake)
    tolerance = {"rtol": 1e-6, "atol": 1e-6}
    torch.testing.assert_close(r1_penalty(critic, real), real_gradients.pow(2).sum(1).mean(), **tolerance)
    torch.testing.assert_close(r2_penalty(critic, fake), fake_gradients.pow(2).sum(1).mean(), **tolerance)
    torch.testing.assert_close(critic_gradient_norm(critic, real), real_gradients.norm(dim=1), **tolerance)


@pytest.mark.parametrize("penalty", ["gp", "r1", "r2"])
def test_penalties_backpropagate_into_the_critic_weights(penalty):
    critic, real, fake = mlp_critic(), samples(0), samples(1)
    value = {
        "gp": lambda: gradient_penalty(critic, real, fake),
        "r1": lambda: r1_penalty(critic, real),
        "r2": lambda: r2_penalty(critic, fake),
    }[penalty]()
    assert value.grad_fn is not None
    value.backward()
    weights = [p for name, p in critic.named_parameters() if name.endswith("weight")]
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in weights)


def test_gradient_penalty_does_not_backpropagate_into_the_generator():
    generator, critic = build_networks("mlp", (2,), latent_dim=2, width=16)
    gradient_penalty(critic, samples(0), generator(samples(1))).backward()
    assert all(p.grad is None for p in generator.parameters())


def test_gradient_norm_is_a_diagnostic_without_graph():
    norms = critic_gradient_norm(mlp_critic(), samples(0))
    assert norms.shape == (6,) and not norms.requires_grad
    with torch.no_grad():
        assert critic_gradient_norm(mlp_critic(), samples(0)).shape == (6,)


def bf16_autocast():
    return torch.autocast("cpu", dtype=torch.bfloat16)


def test_penalties_under_bf16_autocast_equal_their_float32_values():
    critic, real, fake = mlp_critic(), samples(0), samples(1)

    def values():
        torch.manual_seed(7)  # the same interpolates
        return [gradient_penalty(critic, real, fake), r1_penalty(critic, real), r2_penalty(critic, fake),
                critic_gradient_norm(critic, fake)]

    with bf16_autocast():
        mixed = values()
    for value, reference in zip(mixed, values()):
        assert value.dtype == torch.float32
        torch.testing.assert_close(value, reference, rtol=1e-5, atol=0)


def test_penalty_backward_in_a_bf16_mixed_training_step_gives_the_float32_critic_gradients():
    """As under Lightning's bf16-mixed, where manual_backward runs inside training_step's autocast."""
    model = WGANGP(data_shape=(2,), architecture="mlp", latent_dim=2, width=16)
    real, fake = samples(0), samples(1)

    def critic_gradients():
        model.critic.zero_grad()
        torch.manual_seed(7)
        model.backward(gradient_penalty(model.critic, real, fake))
        return [p.grad.clone() for p in model.critic.parameters() if p.grad is not None]

    with bf16_autocast():
        mixed = critic_gradients()
    for gradient, reference in zip(mixed, critic_gradients(), strict=True):
        torch.testing.assert_close(gradient, reference, rtol=1e-5, atol=1e-7)


# ------------------------------------------------------------------------------------------ weight clipping
def test_clip_weights_bounds_every_parameter():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 1))
    with torch.no_grad():
        for parameter in net.parameters():
            parameter.mul_(100)
    clip_weights(net, 0.01)
    values = torch.cat([p.flatten() for p in net.parameters()])
    assert values.abs().max().item() == pytest.approx(0.01)
    assert all(p.abs().max() <= 0.01 for p in net.parameters())


# ----------------------------------------------------------------------------------------- consistency term
def test_consistency_term_is_zero_without_dropout():
    assert consistency_term(mlp_critic(dropout=0.0), samples(0), margin=0.2).item() == 0


def test_consistency_term_with_dropout_follows_its_formula():
    critic, real = mlp_critic(dropout=0.5), samples(0)
    torch.manual_seed(3)
    term = consistency_term(critic, real, margin=0.0, penultimate_weight=0.1)
    torch.manual_seed(3)  # replay the same two dropout masks
    features_1, features_2 = critic.features(real), critic.features(real)
    scores_1, scores_2 = critic.head(features_1).squeeze(1), critic.head(features_2).squeeze(1)
    expected = ((scores_1 - scores_2) ** 2 + 0.1 * ((features_1 - features_2) ** 2).mean(1)).mean()
    assert term.item() > 0
    torch.testing.assert_close(term, expected, rtol=1e-6, atol=1e-6)
    assert term.grad_fn is not None


def test_wgan_gp_weights_the_hinged_consistency_term_as_the_paper_does():
    """loss/d gains lambda * mean(max(0, CT - M')) (the paper's equation), not mean(max(0, lambda * CT - M'))
    (the authors' code); M' is the median CT, so the two differ."""
    from lightning_gans import WGANGP

    torch.manual_seed(0)
    model = WGANGP(data_shape=(2,), architecture="mlp", latent_dim=2, width=16, critic_dropout=0.5,
                   consistency_weight=2.0)
    real, fake = samples(0, (16, 2)), samples(1, (16, 2))
    model.hparams.consistency_weight = 0.0
    torch.manual_seed(1)
    without = model.critic_loss(real, fake)["loss/d"]
    # The RNG is now where the consistency term will draw its two dropout masks: replay them.
    features_1, features_2 = model.critic.features(real), model.critic.features(real)
    scores_1, scores_2 = model.critic.head(features_1).squeeze(1), model.critic.head(features_2).squeeze(1)
    ct = (scores_1 - scores_2) ** 2 + 0.1 * ((features_1 - features_2) ** 2).mean(1)
    margin = ct.median().item()
    model.hparams.consistency_weight, model.hparams.consistency_margin = 2.0, margin
    torch.manual_seed(1)
    terms = model.critic_loss(real, fake)
    paper, authors = 2 * torch.relu(ct - margin).mean(), torch.relu(2 * ct - margin).mean()
    torch.testing.assert_close(terms["loss/d"] - without, paper, rtol=1e-5, atol=1e-6)
    assert (paper - authors).abs() > 0.01 * paper  # far outside the tolerance above
