"""GAN with R1 regularisation (Mescheder et al. 2018), optional R2 and lazy regularisation."""

from lightning_gans.errors import require
from lightning_gans.objectives.penalties import r1_penalty_from_scores
from lightning_gans.techniques.base import GANTechnique


class R1GAN(GANTechnique):
    """Critic minimises the non-saturating loss + gamma/2 * E_x[||grad D(x)||^2] at real samples (R1; R2 is
    the same at fakes), the generator E[softplus(-D(G(z)))]."""

    name = "r1gan"

    def __init__(
        self,
        r1_gamma: float = 10.0,
        r2_gamma: float = 0.0,
        regularization_interval: int = 1,
        loss: str = "non_saturating",
        lr_g: float = 1e-4,
        lr_d: float = 1e-4,
        betas: tuple[float, float] = (0.0, 0.99),
        n_critic: int = 1,
        **kwargs,
    ):
        """
        Args:
            r1_gamma, r2_gamma: gamma of R1 (at real samples) and R2 (at fakes); 0 turns a term off.
            regularization_interval: lazy regularisation (Karras et al. 2020): apply the penalties every k
                critic steps, scaled by k so the average strength is unchanged. They are added to that step's
                critic loss (one optimiser step, no separate regularisation step), so StyleGAN2's Adam correction
                for its separate step (lr * k/(k+1), betas ** (k/(k+1))) does not apply and is not made.
        """
        require(r1_gamma >= 0, "model.r1_gamma", r1_gamma, "gamma must be >= 0 (paper: 10)")
        require(r2_gamma >= 0, "model.r2_gamma", r2_gamma, "gamma must be >= 0")
        require(regularization_interval >= 1, "model.regularization_interval", regularization_interval,
                "use an integer >= 1 (1 = every step)")
        super().__init__(loss=loss, lr_g=lr_g, lr_d=lr_d, betas=betas, n_critic=n_critic, **kwargs)

    def critic_loss(self, real, fake):
        hp = self.hparams
        due = self.d_step % hp.regularization_interval == 0
        real = real.detach().requires_grad_(due and hp.r1_gamma > 0)  # the penalties' gradients come from the
        fake = fake.detach().requires_grad_(due and hp.r2_gamma > 0)  # loss's own forward pass of D
        real_scores, fake_scores = self.critic_scores(real, fake)
        terms = self.adversarial_terms(real_scores, fake_scores)
        for key, gamma, points, scores in (("penalty/r1", hp.r1_gamma, real, real_scores),
                                           ("penalty/r2", hp.r2_gamma, fake, fake_scores)):
            if points.requires_grad:
                terms[key] = r1_penalty_from_scores(scores, points)
                terms["loss/d"] = terms["loss/d"] + gamma / 2 * hp.regularization_interval * terms[key]
        return terms
