"""WGAN-GP (Gulrajani et al. 2017, algorithm 1), optionally with CT-GAN's consistency term (Wei et al. 2018)."""

from lightning_gans.errors import require
from lightning_gans.objectives.penalties import consistency_term, gradient_penalty_from_scores, random_interpolates
from lightning_gans.techniques.base import GANTechnique


class WGANGP(GANTechnique):
    """Critic minimises E[D(G(z))] - E[D(x)] + lambda * E[(||grad D(x_hat)|| - 1)^2] at random interpolates
    x_hat of real and fake, for `n_critic` Adam steps; then one generator step minimising -E[D(G(z))]."""

    name = "wgan_gp"

    def __init__(
        self,
        gp_weight: float = 10.0,
        one_sided: bool = False,
        consistency_weight: float = 0.0,
        consistency_margin: float = 0.2,
        lr_g: float = 1e-4,
        lr_d: float = 1e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        n_critic: int = 5,
        critic_dropout: float = 0.0,
        **kwargs,
    ):
        """
        Args:
            gp_weight: lambda of the gradient penalty.
            one_sided: penalise only gradient norms above 1, max(0, ||grad|| - 1)^2 (Petzka et al. 2018).
            consistency_weight: lambda of CT-GAN's consistency term (paper: 2); 0 turns it off.
            consistency_margin: M' of the consistency term (paper: 0.2), inside the hinge as in the paper's
                equation: lambda * max(0, CT - M'). The authors' code computes max(0, lambda * CT - M'), i.e. this
                with margin M' / lambda (see `penalties.consistency_term`).
            critic_dropout: dropout inside the critic; the consistency term needs it > 0 (paper: 0.5).
        """
        require(gp_weight >= 0, "model.gp_weight", gp_weight, "lambda must be >= 0 (paper: 10)")
        require(consistency_weight >= 0, "model.consistency_weight", consistency_weight, "use >= 0 (paper: 2)")
        require(
            consistency_weight == 0 or critic_dropout > 0, "model.critic_dropout", critic_dropout,
            "the consistency term compares two dropout passes: set critic_dropout > 0 (paper: 0.5)",
        )
        super().__init__(
            loss="wasserstein", lr_g=lr_g, lr_d=lr_d, betas=betas, n_critic=n_critic,
            critic_dropout=critic_dropout, **kwargs,
        )

    def critic_loss(self, real, fake, labels=None):
        hp = self.hparams
        x_hat = random_interpolates(real, fake).requires_grad_(True)  # conditional: the label of its pair
        real_scores, fake_scores, x_hat_scores = self.critic_scores(real, fake, x_hat, labels=labels)
        terms = self.adversarial_terms(real_scores, fake_scores)
        terms["penalty/gp"] = gradient_penalty_from_scores(x_hat_scores, x_hat, one_sided=hp.one_sided)
        terms["loss/d"] = terms["loss/d"] + hp.gp_weight * terms["penalty/gp"]
        if hp.consistency_weight > 0:
            terms["penalty/ct"] = consistency_term(self.critic, real, margin=hp.consistency_margin, labels=labels)
            terms["loss/d"] = terms["loss/d"] + hp.consistency_weight * terms["penalty/ct"]
        return terms
