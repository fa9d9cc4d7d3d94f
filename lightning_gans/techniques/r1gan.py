"""GAN with R1 regularisation (Mescheder et al. 2018), optional R2 and lazy regularisation."""

from lightning_gans.errors import require
from lightning_gans.objectives.penalties import r1_penalty_from_scores
from lightning_gans.techniques.base import GANTechnique

LAZY_REGULARIZATION = ("folded", "separate")


class R1GAN(GANTechnique):
    """Critic minimises the non-saturating loss + gamma/2 * E_x[||grad D(x)||^2] at real samples (R1; R2 is
    the same at fakes), the generator E[softplus(-D(G(z)))]."""

    name = "r1gan"

    def __init__(
        self,
        r1_gamma: float = 10.0,
        r2_gamma: float = 0.0,
        regularization_interval: int = 1,
        lazy_regularization: str = "folded",
        loss: str = "non_saturating",
        lr_g: float = 1e-4,
        lr_d: float = 1e-4,
        betas: tuple[float, float] = (0.0, 0.99),
        n_critic: int = 1,
        **kwargs,
    ):
        """
        Args:
            r1_gamma, r2_gamma: gamma of R1 (at real samples) and R2 (at fakes) in the R1 paper's and StyleGAN2's
                convention, gamma/2 * E||grad D||^2 (paper: 10); 0 turns a term off. GAN_stability's code weighs
                E||grad D||^2 by its reg_param 10 unhalved: that is r1_gamma 20 here.
            regularization_interval: lazy regularisation (Karras et al. 2020): apply the penalties every k
                critic steps, scaled by k so the average strength is unchanged.
            lazy_regularization: 'folded': the penalties join that step's critic loss (one optimiser step);
                'separate': StyleGAN2's Dreg phase, an optimiser step of their own after the main critic step
                (`critic_regularization`, loss `loss/d_reg`), with Adam corrected for it: lr_d * k/(k+1),
                betas ** (k/(k+1)).
        """
        require(r1_gamma >= 0, "model.r1_gamma", r1_gamma, "gamma must be >= 0 (paper: 10)")
        require(r2_gamma >= 0, "model.r2_gamma", r2_gamma, "gamma must be >= 0")
        require(regularization_interval >= 1, "model.regularization_interval", regularization_interval,
                "use an integer >= 1 (1 = every step)")
        require(lazy_regularization in LAZY_REGULARIZATION, "model.lazy_regularization", lazy_regularization,
                f"choose one of {', '.join(LAZY_REGULARIZATION)}")
        super().__init__(loss=loss, lr_g=lr_g, lr_d=lr_d, betas=betas, n_critic=n_critic, **kwargs)

    def critic_loss(self, real, fake, labels=None):
        hp = self.hparams
        due = hp.lazy_regularization == "folded" and self.progress.d_step % hp.regularization_interval == 0
        real = real.detach().requires_grad_(due and hp.r1_gamma > 0)  # the penalties' gradients come from the
        fake = fake.detach().requires_grad_(due and hp.r2_gamma > 0)  # loss's own forward pass of D
        real_scores, fake_scores = self.critic_scores(real, fake, labels=labels)  # gradients w.r.t. images only
        terms = self.adversarial_terms(real_scores, fake_scores)
        penalties = self.penalties(real, real_scores, fake, fake_scores)
        weighted = penalties.pop("loss/d_reg", 0)
        return {**terms, **penalties, "loss/d": terms["loss/d"] + weighted}

    def critic_regularization(self, real, fake, labels=None):
        hp = self.hparams
        if hp.lazy_regularization == "folded" or self.progress.d_step % hp.regularization_interval:
            return None
        real = real.detach().requires_grad_(hp.r1_gamma > 0)
        fake = fake.detach().requires_grad_(hp.r2_gamma > 0)
        # Each penalty's points get a D pass of their own, as in the folded step (`critic_scores`).
        real_scores = self.critic_scores(real, labels=labels)[0] if real.requires_grad else None
        fake_scores = self.critic_scores(fake, labels=labels)[0] if fake.requires_grad else None
        return self.penalties(real, real_scores, fake, fake_scores) or None

    def penalties(self, real, real_scores, fake, fake_scores):
        """R1 at the reals and R2 at the fakes that require grad, from their scores, and their weighted sum
        `loss/d_reg`; empty when none does."""
        hp = self.hparams
        terms = {}
        for key, gamma, points, scores in (("penalty/r1", hp.r1_gamma, real, real_scores),
                                           ("penalty/r2", hp.r2_gamma, fake, fake_scores)):
            if points.requires_grad:
                terms[key] = r1_penalty_from_scores(scores, points)
                terms["loss/d_reg"] = terms.get("loss/d_reg", 0) + gamma / 2 * hp.regularization_interval * terms[key]
        return terms

    def lazy_regularization_intervals(self):
        separate = self.hparams.lazy_regularization == "separate"
        return {**super().lazy_regularization_intervals(), "d": self.hparams.regularization_interval if separate else None}
