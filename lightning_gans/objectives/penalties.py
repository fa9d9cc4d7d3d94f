"""Regularisers of the critic D: gradient penalties, CT-GAN's consistency term and WGAN's weight clipping.

The penalties return unweighted means that keep their graph (create_graph=True), so the techniques can weight
them and backpropagate into D's parameters. Input gradients are those of the sum of D's scores; since no critic
mixes samples, row i of that gradient is grad D(x_i). Under autocast a penalty's critic pass runs in float32
(`benchmarks/penalty_precision.py` measures why).

Each penalty runs D itself (`gradient_penalty(critic, real, fake)`), or takes its gradient from scores the caller
computed (`..._from_scores(scores, points)`): a training step can then reuse the pass that scored the points for its
loss (R1 at the reals: StyleGAN2's "Dboth" phase). `GANTechnique.critic_scores` gives penalty points a pass of their
own, float32 under autocast, so the double backward runs over them alone.
"""

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn


def _score(critic: nn.Module, x: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
    """D(x), or D(x, y) for a conditional critic: labels are ints, so gradients are w.r.t. the images only."""
    return critic(x) if labels is None else critic(x, labels)


def _input_gradients(critic: nn.Module, x: torch.Tensor, create_graph: bool,
                     labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(N, prod(sample shape)) float32: row i is grad_x D(x_i[, y_i]), the gradient of sum_j D(x_j) w.r.t. x_i.

    Under autocast (bf16-mixed, 16-mixed) this critic pass runs in float32 with autocast off, on x cast to
    float32: its backward, and the penalty's double backward, are float32 too."""
    autocast = torch.is_autocast_enabled(x.device.type)
    with torch.autocast(x.device.type, enabled=False):
        x = (x.float() if autocast else x).detach().requires_grad_(True)
        (gradients,) = torch.autograd.grad(_score(critic, x, labels).float().sum(), x, create_graph=create_graph)
    return gradients.flatten(1).float()


def _score_gradients(scores: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(N, prod(sample shape)) float32, with graph: row i is grad_x D(x_i), from D's `scores` of `x`, where `x`
    required grad in that forward (it may have been part of a larger concatenated batch)."""
    with torch.autocast(x.device.type, enabled=False):  # the double backward of a float32 pass stays float32
        (gradients,) = torch.autograd.grad(scores.float().sum(), x, create_graph=True)
    return gradients.flatten(1).float()


def random_interpolates(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """a real + (1 - a) fake with a ~ U[0, 1] per sample (torch.rand on real's device and dtype), detached."""
    alpha = torch.rand(real.shape[0], *[1] * (real.ndim - 1), device=real.device, dtype=real.dtype)
    return alpha * real.detach() + (1 - alpha) * fake.detach()


def gradient_penalty(
    critic: nn.Module, real: torch.Tensor, fake: torch.Tensor, one_sided: bool = False
) -> torch.Tensor:
    """WGAN-GP (Gulrajani et al. 2017): mean over x_hat = a real + (1 - a) fake, a ~ U[0, 1] per sample, of
    (||grad D(x_hat)||_2 - 1)^2, or with `one_sided` (Petzka et al. 2018) of max(0, ||grad D(x_hat)||_2 - 1)^2.
    a is drawn with torch.rand on real's device and dtype; real and fake are detached."""
    return _norm_excess(_input_gradients(critic, random_interpolates(real, fake), create_graph=True), one_sided)


def gradient_penalty_from_scores(
    scores: torch.Tensor, interpolates: torch.Tensor, one_sided: bool = False
) -> torch.Tensor:
    """`gradient_penalty` at given `interpolates` (which required grad) from D's `scores` of them."""
    return _norm_excess(_score_gradients(scores, interpolates), one_sided)


def _norm_excess(gradients: torch.Tensor, one_sided: bool) -> torch.Tensor:
    excess = gradients.norm(dim=1) - 1
    if one_sided:
        excess = F.relu(excess)
    return excess.pow(2).mean()


def r1_penalty(critic: nn.Module, real: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): mean over real samples x (with their `labels`, conditional) of
    ||grad_x D(x[, y])||_2^2."""
    return _input_gradients(critic, real, create_graph=True, labels=labels).pow(2).sum(dim=1).mean()


def r1_penalty_from_scores(scores: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """R1 at `points` (R2 when they are fakes), which required grad, from D's `scores` of them."""
    return _score_gradients(scores, points).pow(2).sum(dim=1).mean()


def r2_penalty(critic: nn.Module, fake: torch.Tensor) -> torch.Tensor:
    """R2 (Mescheder et al. 2018): mean over generated samples x of ||grad D(x)||_2^2."""
    return _input_gradients(critic, fake, create_graph=True).pow(2).sum(dim=1).mean()


def critic_gradient_norm(critic: nn.Module, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
    """(N,) ||grad D(x_i[, y_i])||_2 per sample, without a graph: a diagnostic of D's empirical Lipschitz constant."""
    with torch.enable_grad():  # diagnostics may run under no_grad
        return _input_gradients(critic, x, create_graph=False, labels=labels).norm(dim=1)


def consistency_term(
    critic: nn.Module, real: torch.Tensor, margin: float = 0.2, penultimate_weight: float = 0.1,
    labels: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """CT-GAN's consistency term (Wei et al. 2018, squared distances as in the authors' code): two passes of the
    critic in train mode, whose dropout makes them differ, give scores s1, s2 and penultimate features f1, f2 of
    the same real batch; returns mean(max(0, (s1 - s2)^2 + penultimate_weight * mean_k((f1_k - f2_k)^2) - margin)).
    The critic needs `features`, `scores` (head, and projection of `labels` when conditional) and dropout > 0, else
    the term is 0.

    WGANGP weights it as the paper's equation does, lambda * max(0, CT - M'). The authors' code hinges the weighted
    term instead, max(0, lambda * CT - M') = lambda * max(0, CT - M' / lambda): the same as margin M' / lambda here
    (the two agree at M' = 0, the value of their CIFAR-10 script)."""
    real = real.detach()
    features_1, features_2 = critic.features(real), critic.features(real)
    scores_1, scores_2 = critic.scores(features_1, labels).float(), critic.scores(features_2, labels).float()
    feature_distance = (features_1.float() - features_2.float()).pow(2).mean(dim=1)
    return F.relu((scores_1 - scores_2).pow(2) + penultimate_weight * feature_distance - margin).mean()


@torch.no_grad()
def clip_weights(module: nn.Module, c: float) -> None:
    """WGAN weight clipping (Arjovsky et al. 2017, algorithm 1): w <- clip(w, -c, c) for every parameter, in place."""
    for parameter in module.parameters():
        parameter.clamp_(-c, c)
