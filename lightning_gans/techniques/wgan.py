"""WGAN with weight clipping (Arjovsky et al. 2017, algorithm 1)."""

from lightning_gans.errors import require
from lightning_gans.objectives.penalties import clip_weights
from lightning_gans.techniques.base import GANTechnique

# The reference code's critic schedule (WassersteinGAN main.py): 100 critic iterations before each of the first 25
# generator iterations and before every 500th, so the critic is near its optimum before G follows it.
BURST_N_CRITIC, BURST_FIRST_G_STEPS, BURST_EVERY_G_STEPS = 100, 25, 500


class WGAN(GANTechnique):
    """Critic maximises E[D(x)] - E[D(G(z))] for `n_critic` RMSprop steps, its parameters clipped to [-c, c]
    before each; then one generator step minimising -E[D(G(z))]."""

    name = "wgan"

    def __init__(
        self,
        clip_value: float = 0.01,
        clip_before_critic_step: bool = True,
        critic_burst: bool = True,
        optimizer: str = "rmsprop",
        lr_g: float = 5e-5,
        lr_d: float = 5e-5,
        n_critic: int = 5,
        **kwargs,
    ):
        """
        Args:
            clip_value: c, the bound on every critic parameter.
            clip_before_critic_step: clip before each critic step, as the reference code does (G's step then sees
                the critic as its last update left it); False: after each update, as the paper's algorithm 1.
            critic_burst: the reference code's schedule: 100 critic steps before each of the first 25 generator
                steps and before every 500th (`n_critic_at`); False: n_critic before every generator step.
        """
        require(clip_value > 0, "model.clip_value", clip_value, "the clipping bound c must be > 0 (paper: 0.01)")
        super().__init__(loss="wasserstein", optimizer=optimizer, lr_g=lr_g, lr_d=lr_d, n_critic=n_critic, **kwargs)

    def n_critic_at(self, g_step: int) -> int:
        burst = g_step < BURST_FIRST_G_STEPS or g_step % BURST_EVERY_G_STEPS == 0
        return BURST_N_CRITIC if self.hparams.critic_burst and burst else self.n_critic

    def before_critic_step(self) -> None:
        if self.hparams.clip_before_critic_step:
            clip_weights(self.critic, self.hparams.clip_value)

    def after_critic_step(self) -> None:
        if not self.hparams.clip_before_critic_step:
            clip_weights(self.critic, self.hparams.clip_value)
