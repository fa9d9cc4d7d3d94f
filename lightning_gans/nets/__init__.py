"""Networks: the standard CNN, ResNet and MLP of the SN-GAN and WGAN-GP papers (`standard.py`), the StyleGAN2-lite
networks (`stylegan.py`) and ADA's augmentation pipe (`augment.py`).

`ARCHITECTURES` is the registry of `model.architecture`: a new architecture is one builder function and one line
here. StyleGAN's networks are built by the StyleGANADA technique (spectral norm, dropout and CT-GAN's features do
not apply to them), so they are not registered.
"""

from typing import Callable, Optional

from lightning_gans.errors import require
from lightning_gans.nets.standard import (
    CONV_AND_LINEAR,
    ConditionalBatchNorm2d,
    Critic,
    Generator,
    apply_spectral_norm,
    build_cnn,
    build_mlp,
    build_resnet,
    init_weights,
)

# name -> builder(data_shape, latent_dim, width or None for the paper's value, critic dropout[, depth: mlp only],
#                 num_classes=None or the number of classes of a conditional pair) -> (G, D)
ARCHITECTURES: dict[str, Callable[..., tuple[Generator, Critic]]] = {
    "cnn": build_cnn,
    "resnet": build_resnet,
    "mlp": build_mlp,
}


def build_networks(
    architecture: str,
    data_shape: tuple,
    latent_dim: int,
    width: Optional[int] = None,
    spectral_norm: bool = False,
    n_power_iterations: int = 1,
    critic_dropout: float = 0.0,
    depth: Optional[int] = None,
    num_classes: Optional[int] = None,
) -> tuple[Generator, Critic]:
    """(generator, critic) of `architecture` for samples of `data_shape`, initialised by `init_weights` (the MLP by
    PyTorch's default Linear init).

    width: base width (cnn: 64, resnet: critic 128 / generator 256, mlp: 512 hidden units); None takes the paper's.
    spectral_norm: spectrally normalise every critic layer (`apply_spectral_norm`) with `n_power_iterations`.
    critic_dropout: dropout probability after each critic activation (CT-GAN: 0.5).
    depth: hidden layers of the MLP's G and D (None: the paper's 3); the image architectures have fixed depths.
    num_classes: None for unconditional networks; C for class-conditional ones (G(z, y), D(x, y) with labels in
        0..C-1; see `nets.standard`).
    """
    require(architecture in ARCHITECTURES, "model.architecture", architecture, f"choose one of {sorted(ARCHITECTURES)}")
    require(latent_dim >= 1, "model.latent_dim", latent_dim, "use an integer >= 1 (papers: 128)")
    require(width is None or width >= 1, "model.width", width, "use an integer >= 1, or null for the paper's value")
    require(n_power_iterations >= 1, "model.n_power_iterations", n_power_iterations, "use an integer >= 1 (paper: 1)")
    require(
        0 <= critic_dropout < 1, "model.critic_dropout", critic_dropout, "use a probability in [0, 1) (CT-GAN: 0.5)"
    )
    require(num_classes is None or num_classes >= 1, "model.num_classes", num_classes,
            "use null for unconditional networks, or the number of classes (set data.conditional true)")
    depth_option = {"depth": depth} if depth is not None and architecture == "mlp" else {}
    # The builder first: a network that does not fit the data (a CNN on 2-D points) is the first thing to hear of.
    generator, critic = ARCHITECTURES[architecture](tuple(data_shape), latent_dim, width, critic_dropout, **depth_option,
                                                     num_classes=num_classes)
    require(depth is None or architecture == "mlp", "model.depth", depth,
            "only model.architecture=mlp has a depth option; use null")
    if architecture != "mlp":
        # Not for the MLP on 2-D points: with zero biases every first-layer ReLU boundary passes through the origin,
        # and D starts (and on grid25 stays for thousands of steps) a function of the angle only. PyTorch's default
        # Linear init spreads them around it.
        init_weights(generator)
        init_weights(critic)
    if spectral_norm:
        apply_spectral_norm(critic, n_power_iterations)
    return generator, critic


__all__ = ["ARCHITECTURES", "CONV_AND_LINEAR", "ConditionalBatchNorm2d", "Critic", "Generator", "apply_spectral_norm",
           "build_networks", "init_weights"]
