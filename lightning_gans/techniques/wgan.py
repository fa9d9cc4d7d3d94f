"""WGAN with weight clipping (Arjovsky et al. 2017, algorithm 1)."""

from lightning_gans.errors import require
from lightning_gans.objectives.penalties import clip_weights
from lightning_gans.techniques.base import GANTechnique


class WGAN(GANTechnique):
    """Critic maximises E[D(x)] - E[D(G(z))] for `n_critic` RMSprop steps, each followed by clipping every
    critic parameter to [-c, c]; then one generator step minimising -E[D(G(z))]."""

    name = "wgan"

    def __init__(
        self,
        clip_value: float = 0.01,
        optimizer: str = "rmsprop",
        lr_g: float = 5e-5,
        lr_d: float = 5e-5,
        n_critic: int = 5,
        **kwargs,
    ):
        """
        Args:
            clip_value: c, the bound on every critic parameter.
        """
        require(clip_value > 0, "model.clip_value", clip_value, "the clipping bound c must be > 0 (paper: 0.01)")
        super().__init__(loss="wasserstein", optimizer=optimizer, lr_g=lr_g, lr_d=lr_d, n_critic=n_critic, **kwargs)

    def after_critic_step(self) -> None:
        clip_weights(self.critic, self.hparams.clip_value)
