"""One forward pass of D over a critic step's real and fake batch (`fused_critic`), penalty points in a pass of their
own: the same losses, penalties and critic gradients as one pass per batch, on given inputs. Spectral norm is compared
in eval mode (power iteration frozen), dropout at p = 0."""

import pytest
import torch
from torch import nn

from lightning_gans import R1GAN, SNGAN, WGAN, WGANGP, StyleGANADA
from lightning_gans.objectives.penalties import r1_penalty, r1_penalty_from_scores

TOY = {"data_shape": (2,), "architecture": "mlp", "latent_dim": 2, "width": 16}
IMAGES = {"data_shape": (1, 32, 32), "architecture": "cnn", "latent_dim": 8, "width": 8}

GP, R1, R2, CT = "penalty/gp", "penalty/r1", "penalty/r2", "penalty/ct"
CASES = {  # name: (technique, the penalty terms of the step, batch sizes of the fused step's D passes, in order)
    "wgan": (lambda: WGAN(**TOY), set(), [12]),
    "wgan cnn": (lambda: WGAN(**IMAGES), set(), [12]),
    "wgan_gp": (lambda: WGANGP(**TOY), {GP}, [6, 12]),
    "wgan_gp cnn": (lambda: WGANGP(**IMAGES), {GP}, [6, 12]),
    "wgan_gp one_sided": (lambda: WGANGP(**TOY, one_sided=True), {GP}, [6, 12]),
    # CT-GAN's term keeps its own two passes; at dropout 0 (see `without_dropout`) they agree and a negative margin
    # makes the term positive, so its value is still compared.
    "wgan_gp consistency": (
        lambda: WGANGP(**TOY, critic_dropout=0.5, consistency_weight=2.0, consistency_margin=-0.5), {GP, CT}, [6, 12]),
    "sngan": (lambda: SNGAN(**TOY), set(), [12]),
    "sngan cnn": (lambda: SNGAN(**IMAGES), set(), [12]),
    "r1gan": (lambda: R1GAN(**TOY), {R1}, [6, 6]),
    "r1gan cnn": (lambda: R1GAN(**IMAGES), {R1}, [6, 6]),
    "r1gan r2": (lambda: R1GAN(**TOY, r2_gamma=5.0), {R1, R2}, [6, 6]),
    "r1gan lazy, due": (lambda: R1GAN(**TOY, r2_gamma=5.0, regularization_interval=4), {R1, R2}, [6, 6]),
    "r1gan lazy, not due": (lambda: R1GAN(**TOY, r2_gamma=5.0, regularization_interval=4), set(), [12]),
}


def without_dropout(module: nn.Module) -> nn.Module:
    for layer in module.modules():
        if isinstance(layer, nn.Dropout):
            layer.p = 0.0
    return module


def critic_step(model, real, fake, fused: bool):
    """(terms, critic parameter gradients of loss/d, number of D forward passes) of one critic step."""
    model.fused_critic = fused
    model.critic.zero_grad(set_to_none=True)
    calls = []
    hook = model.critic.register_forward_hook(lambda module, inputs, output: calls.append(len(inputs[0])))
    torch.manual_seed(5)  # the same interpolation weights on both paths
    terms = model.critic_loss(real, fake)
    hook.remove()
    terms["loss/d"].backward()
    return ({key: value.detach() for key, value in terms.items()},
            [p.grad.clone() for p in model.critic.parameters()], calls)


@pytest.mark.parametrize("case", list(CASES))
def test_fused_critic_step_equals_one_pass_per_batch(case):
    torch.manual_seed(0)
    technique, penalties, fused_passes = CASES[case]
    model = technique()
    without_dropout(model.critic)
    if isinstance(model, SNGAN):
        model.critic.eval()  # power iteration frozen: fused, it advances once per step instead of once per batch
    model.progress.d_step = 5 if case.endswith("not due") else 4
    shape = model.hparams.data_shape
    real = torch.randn(6, *shape, generator=torch.Generator().manual_seed(1))
    fake = torch.randn(6, *shape, generator=torch.Generator().manual_seed(2))

    fused_terms, fused_gradients, fused_calls = critic_step(model, real, fake, fused=True)
    separate_terms, separate_gradients, separate_calls = critic_step(model, real, fake, fused=False)

    assert fused_terms.keys() == separate_terms.keys()
    assert {key for key in fused_terms if key.startswith("penalty/")} == penalties
    for key in fused_terms:
        torch.testing.assert_close(fused_terms[key], separate_terms[key], rtol=1e-5, atol=1e-6, msg=key)
    for fused_gradient, separate_gradient in zip(fused_gradients, separate_gradients):
        torch.testing.assert_close(fused_gradient, separate_gradient, rtol=1e-5, atol=1e-6)
    assert any(g.abs().sum() > 0 for g in fused_gradients)
    # Penalty points alone, then real and fake together (CT-GAN adds its own two passes of `features`, not hooked
    # here); the separate path scores every batch alone.
    assert fused_calls == fused_passes and separate_calls == [6] * (3 if isinstance(model, WGANGP) else 2)


def test_penalty_from_the_fused_pass_is_the_penalty_of_the_real_batch_alone():
    """R1 at the reals, taken from D(cat(real, fake)): row i of the gradient is grad D(real_i) only."""
    torch.manual_seed(0)
    critic = R1GAN(**TOY).critic
    real = torch.randn(6, 2).requires_grad_(True)
    fake = torch.randn(6, 2)
    real_scores, _ = critic(torch.cat([real, fake])).split([6, 6])
    torch.testing.assert_close(r1_penalty_from_scores(real_scores, real), r1_penalty(critic, real))


def test_stylegan_ada_scores_reals_and_fakes_in_separate_passes():
    """Its minibatch-stddev layer mixes the samples of a group, so a concatenated batch would change the scores."""
    torch.manual_seed(0)
    model = StyleGANADA(data_shape=(1, 16, 16), latent_dim=8, width=8)
    sizes = []
    model.critic.register_forward_hook(lambda module, inputs, output: sizes.append(len(inputs[0])))
    model.critic_loss(torch.randn(4, 1, 16, 16), torch.randn(4, 1, 16, 16))
    assert model.fused_critic is False and sizes == [4, 4]


@pytest.mark.parametrize("fused, power_iterations", [(True, 1), (False, 2)])
def test_spectral_norm_advances_one_power_iteration_per_critic_pass(fused, power_iterations):
    """Fused, one pass over real and fake advances each layer's power iteration once per critic step; separate, as
    the reference codes' two D calls, twice (u = Wv / |Wv|, then v = W^T u / |W^T u|, per iteration)."""
    torch.manual_seed(0)
    model = SNGAN(**TOY, fused_critic=fused)
    layer = next(m for m in model.critic.modules() if hasattr(m, "parametrizations"))
    norm, weight = layer.parametrizations.weight[0], layer.parametrizations.weight.original.detach()
    u, v = norm._u.clone(), norm._v.clone()
    for _ in range(power_iterations):
        u = nn.functional.normalize(weight @ v, dim=0, eps=norm.eps)
        v = nn.functional.normalize(weight.T @ u, dim=0, eps=norm.eps)
    model.critic_loss(torch.randn(6, 2), torch.randn(6, 2))
    assert model.critic.training
    torch.testing.assert_close(norm._u, u)
    torch.testing.assert_close(norm._v, v)


@pytest.mark.parametrize("case", ["wgan_gp", "r1gan r2"])
def test_under_bf16_autocast_penalties_of_the_step_keep_their_float32_values(case):
    """The penalty points get a float32 pass of their own under autocast (`critic_scores`), so the penalty equals
    the float32 step's, as a standalone penalty does (`penalties._input_gradients`)."""
    torch.manual_seed(0)
    technique, penalties, _ = CASES[case]
    model = technique()
    model.progress.d_step = 4
    real = torch.randn(6, 2, generator=torch.Generator().manual_seed(1))
    fake = torch.randn(6, 2, generator=torch.Generator().manual_seed(2))
    reference, _, _ = critic_step(model, real, fake, fused=True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed, _, calls = critic_step(model, real, fake, fused=True)
    for key in penalties:
        torch.testing.assert_close(mixed[key], reference[key], rtol=1e-5, atol=0, msg=key)
    assert len(calls) == 2  # the penalty points' float32 pass and the bf16 pass of the rest


def test_adam_takes_the_fused_kernel_on_the_cpu_with_the_per_parameter_loops_result():
    model = SNGAN(**IMAGES)
    opt_g, opt_d = model.configure_optimizers()
    assert opt_g.param_groups[0]["fused"] and opt_d.param_groups[0]["fused"]
    initial = [parameter.detach().clone() for parameter in model.critic.parameters()]
    looped_critic = [parameter.clone() for parameter in initial]
    looped = torch.optim.Adam(looped_critic, lr=opt_d.defaults["lr"], betas=opt_d.defaults["betas"], foreach=False)
    for step in range(3):
        grads = [torch.randn(p.shape, generator=torch.Generator().manual_seed(step)) for p in looped_critic]
        for parameter, other, grad in zip(model.critic.parameters(), looped_critic, grads, strict=True):
            parameter.grad, other.grad = grad.clone(), grad.clone()
        opt_d.step()
        looped.step()
    for parameter, other in zip(model.critic.parameters(), looped_critic, strict=True):
        torch.testing.assert_close(parameter.detach(), other, rtol=1e-5, atol=1e-6)
    assert all(not torch.equal(parameter, before) for parameter, before in zip(looped_critic, initial, strict=True))
