"""Adversarial objectives on raw critic scores (logits) of shape (N,).

Each loss has `discriminator(real_scores, fake_scores)` and `generator(fake_scores)`, both minimised, and
`estimates_wasserstein`: whether E[D(x)] - E[D(G(z))] estimates a Wasserstein distance and is worth logging.
Scores are cast to float32 first, so the means and softplus stay accurate when the critic runs in bf16.
"""

import inspect

import torch
import torch.nn.functional as F

from lightning_gans.errors import ConfigError, require


class Wasserstein:
    """WGAN (Arjovsky et al. 2017). D: E[D(G(z))] - E[D(x)]; G: -E[D(G(z))]."""

    estimates_wasserstein = True

    def discriminator(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return fake_scores.float().mean() - real_scores.float().mean()

    def generator(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.float().mean()


class Hinge:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018). D: E[relu(1 - D(x))] + E[relu(1 + D(G(z)))]; G: -E[D(G(z))]."""

    estimates_wasserstein = False

    def discriminator(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.relu(1 - real_scores.float()).mean() + F.relu(1 + fake_scores.float()).mean()

    def generator(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -fake_scores.float().mean()


class NonSaturating:
    """Cross-entropy GAN loss with the non-saturating generator (Goodfellow et al. 2014), with one-sided label
    smoothing a (Salimans et al. 2016: real target 1 - a, fake target 0). As -log sigmoid(s) = softplus(-s):
    D: E[(1 - a) softplus(-D(x)) + a softplus(D(x))] + E[softplus(D(G(z)))]; G: E[softplus(-D(G(z)))]."""

    estimates_wasserstein = False

    def __init__(self, label_smoothing: float = 0.0):
        require(
            0 <= label_smoothing < 1, "model.label_smoothing", label_smoothing,
            "use a value in [0, 1): the real target is 1 - label_smoothing (Salimans et al. 2016: 0.1)",
        )
        self.label_smoothing = label_smoothing

    def discriminator(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
        real, a = real_scores.float(), self.label_smoothing
        return ((1 - a) * F.softplus(-real) + a * F.softplus(real)).mean() + F.softplus(fake_scores.float()).mean()

    def generator(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return F.softplus(-fake_scores.float()).mean()


class Minimax(NonSaturating):
    """The original minimax GAN loss (Goodfellow et al. 2014): D as `NonSaturating`; G minimises
    E[log(1 - sigmoid(D(G(z))))] = -E[softplus(D(G(z)))], which saturates while D rejects the fakes."""

    def generator(self, fake_scores: torch.Tensor) -> torch.Tensor:
        return -F.softplus(fake_scores.float()).mean()


LOSSES = {"wasserstein": Wasserstein, "hinge": Hinge, "non_saturating": NonSaturating, "minimax": Minimax}


def build_loss(name: str, **kwargs):
    """The loss `LOSSES[name](**kwargs)`, e.g. build_loss("non_saturating", label_smoothing=0.1)."""
    require(name in LOSSES, "model.loss", name, f"choose one of {sorted(LOSSES)}")
    loss_class = LOSSES[name]
    accepted = inspect.signature(loss_class).parameters
    for key, value in kwargs.items():
        if key not in accepted:
            raise ConfigError(f"model.{key}={value!r} does not apply to model.loss={name!r}",
                              "remove it or pick a loss that takes it", f"model.{key}", value)
    return loss_class(**kwargs)
