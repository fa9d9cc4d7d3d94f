"""SN-GAN (Miyato et al. 2018): hinge loss with spectral normalisation on every critic layer."""

from typing import Optional

from lightning_gans.techniques.base import GANTechnique


class SNGAN(GANTechnique):
    """Every critic weight W is divided by its largest singular value, estimated by power iteration, so each
    layer is 1-Lipschitz; the critic minimises the hinge loss, the generator -E[D(G(z))]."""

    name = "sngan"

    def __init__(
        self,
        loss: str = "hinge",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        n_critic: Optional[int] = None,
        n_power_iterations: int = 1,
        architecture: str = "cnn",
        **kwargs,
    ):
        """
        Args:
            n_critic: None takes the paper's value for the architecture: 1 with the CNN, 5 with the ResNet (the loop
                reads the resolved value, `self.n_critic`; hparams keep the configuration's).
            n_power_iterations: power iterations per forward pass of each layer (paper: 1).
        """
        if n_critic is None:
            n_critic = 5 if architecture == "resnet" else 1
        super().__init__(
            loss=loss, lr_g=lr_g, lr_d=lr_d, betas=betas, n_critic=n_critic, architecture=architecture,
            spectral_norm=True, n_power_iterations=n_power_iterations, **kwargs,
        )
