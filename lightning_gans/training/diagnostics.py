"""Training diagnostics of the critic and the optimisers, as dicts of hierarchical names -> values.

D's input-gradient norm (the empirical Lipschitz signal, `penalties.critic_gradient_norm`), the largest singular
value of each D layer (the per-layer Lipschitz bound spectral normalisation controls) and the learning rates.
"""

from typing import Optional

import torch
from torch import nn

from lightning_gans.nets.standard import SPECTRAL_NORM_LAYERS
from lightning_gans.objectives.penalties import critic_gradient_norm, random_interpolates


def critic_diagnostics(critic: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                       labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
    """D's input-gradient norm at real, fake and interpolated points, `critic/grad_norm_<points>` (conditional: each
    point with the label of its pair, `labels`), and the largest singular value of each layer,
    `critic/sigma_max/<layer>` (`layer_singular_values`).

    Measured in eval mode, so it neither advances spectral norm's power iteration nor draws dropout masks (the
    interpolation draws from the global RNG)."""
    critic.eval()
    norms = {
        f"critic/grad_norm_{name}": critic_gradient_norm(critic, points, labels).mean()
        for name, points in (("real", real), ("fake", fake), ("interp", random_interpolates(real, fake)))
    }
    critic.train()
    sigmas = {f"critic/sigma_max/{name}": value for name, value in layer_singular_values(critic).items()}
    return {**norms, **sigmas}


def largest_singular_value(matrix: torch.Tensor) -> torch.Tensor:
    """sigma_max of a 2-D matrix, as the root of the largest eigenvalue of its smaller Gram matrix in float64:
    several times cheaper than an SVD, and as exact."""
    matrix = matrix.double()
    gram = matrix @ matrix.T if matrix.shape[0] <= matrix.shape[1] else matrix.T @ matrix
    return torch.linalg.eigvalsh(gram)[-1].clamp(min=0).sqrt().float()


@torch.no_grad()
def layer_singular_values(module: nn.Module) -> dict[str, torch.Tensor]:
    """{layer name: largest singular value of its weight} for every Conv, Linear and Embedding (a projection
    critic's class embedding) layer of `module` and every layer with an `effective_weight` (StyleGAN's
    equalized-lr layers: the scaled weight they apply), a conv's weight reshaped to (dim 0, -1), i.e. (out, in * kh
    * kw). With spectral normalisation the effective weight
    W / sigma is measured, read in eval mode so the power iteration does not advance."""
    was_training = module.training
    module.eval()
    values = {
        name: largest_singular_value(weight.detach().flatten(1))
        for name, layer in module.named_modules()
        if (weight := applied_weight(layer)) is not None
    }
    module.train(was_training)
    return values


def applied_weight(layer: nn.Module):
    """The weight matrix (or conv kernel) a layer multiplies its input by, or None for layers without one."""
    return layer.weight if isinstance(layer, SPECTRAL_NORM_LAYERS) else getattr(layer, "effective_weight", None)


def learning_rates(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
    """{`lr/<name>`: learning rate of the optimiser's first parameter group}."""
    return {f"lr/{name}": optimizer.param_groups[0]["lr"] for name, optimizer in optimizers.items()}
