"""Training diagnostics of the critic and the optimisers, as dicts of hierarchical names -> values.

D's input-gradient norm (the empirical Lipschitz signal) is `penalties.critic_gradient_norm`; here are the
largest singular value of each D layer (the per-layer Lipschitz bound spectral normalisation controls) and the
learning rates.
"""

import torch
from torch import nn

from lightning_gans.networks import CONV_AND_LINEAR


@torch.no_grad()
def layer_singular_values(module: nn.Module) -> dict[str, torch.Tensor]:
    """{layer name: largest singular value of its weight} for every Conv and Linear layer of `module`, a conv's
    weight reshaped to (dim 0, -1), i.e. (out, in * kh * kw). With spectral normalisation the effective weight
    W / sigma is measured, read in eval mode so the power iteration does not advance."""
    was_training = module.training
    module.eval()
    values = {
        name: torch.linalg.matrix_norm(layer.weight.detach().flatten(1).float(), ord=2)
        for name, layer in module.named_modules()
        if isinstance(layer, CONV_AND_LINEAR)
    }
    module.train(was_training)
    return values


def learning_rates(optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, float]:
    """{`lr/<name>`: learning rate of the optimiser's first parameter group}."""
    return {f"lr/{name}": optimizer.param_groups[0]["lr"] for name, optimizer in optimizers.items()}
