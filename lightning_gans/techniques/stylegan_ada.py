"""StyleGAN2 with adaptive discriminator augmentation (Karras et al. 2020, "Training Generative Adversarial
Networks with Limited Data"), small enough for a laptop.

The critic is `augment -> D`, so every image D sees is augmented with probability p: reals and fakes in the
critic step, fakes in the generator step; R1 takes its gradient, w.r.t. the un-augmented image, from the reals'
forward pass of the loss (StyleGAN2's "Dboth"). Because G's loss goes through the same augmentations, they do not
leak into the generated images as long as p stays below about 0.8. The ADA controller (`ada.py`) raises p when
D overfits and lowers it otherwise. Losses as StyleGAN2: non-saturating logistic, lazy R1 every 16 critic steps;
ADA's cifar preset at 32 px.
"""

from contextlib import contextmanager
from typing import Iterator, Optional

import torch
from torch import nn

from lightning_gans.data import to_float
from lightning_gans.errors import require
from lightning_gans.nets.augment import AugmentPipe
from lightning_gans.nets.stylegan import build_stylegan
from lightning_gans.techniques.ada import AdaController
from lightning_gans.techniques.r1gan import R1GAN

AUGMENT_P_KEY = "critic.augment.p"  # the state_dict key of the AugmentPipe's p


class AugmentedCritic(nn.Module):
    """D(augment(x)[, y]): the critic every loss and penalty of the technique calls; labels are never augmented."""

    def __init__(self, augment: AugmentPipe, discriminator: nn.Module):
        super().__init__()
        self.augment, self.discriminator = augment, discriminator
        self.num_classes = discriminator.num_classes

    def forward(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        x = self.augment(x)
        return self.discriminator(x) if labels is None else self.discriminator(x, labels)

    @contextmanager
    def unaugmented(self) -> Iterator[None]:
        """Inside the block the critic is D alone (the pipe switched off); it is switched back on leaving it."""
        enabled, self.augment.enabled = self.augment.enabled, False
        try:
            yield
        finally:
            self.augment.enabled = enabled


class StyleGANADA(R1GAN):
    name = "stylegan_ada"

    def __init__(
        self,
        augment: str = "bgc",
        augment_p: float = 0.0,
        ada_heuristic: str = "rt",
        ada_target: float = 0.6,
        ada_interval: int = 4,
        ada_kimg: float = 500,
        mapping_layers: int = 2,
        mbstd_group_size: int = 32,
        d_architecture: str = "resnet",
        w_dim: Optional[int] = None,
        truncation_psi: float = 1.0,
        architecture: str = "stylegan",
        latent_dim: int = 128,
        r1_gamma: float = 0.01,
        regularization_interval: int = 16,
        lazy_regularization: str = "separate",
        g_reg_interval: int | None = 4,
        fused_critic: bool = False,
        ema_kimg: float = 500,
        lr_g: float = 0.0025,
        lr_d: float = 0.0025,
        betas: tuple[float, float] = (0.0, 0.99),
        **kwargs,
    ):
        """
        Args:
            augment: augmentation groups ('b' blit, 'g' geometric, 'c' colour; default 'bgc') or comma-separated
                op names (see `augment.OPS`).
            augment_p: initial augmentation probability (the fixed p with ada_heuristic 'fixed').
            ada_heuristic: 'rt' (paper), 'rv' (needs data.validation_images > 0) or 'fixed'.
            ada_target, ada_interval, ada_kimg: p moves every `ada_interval` critic steps towards the heuristic
                reaching `ada_target`, at a speed that takes it from 0 to 1 in `ada_kimg` thousand images.
            mapping_layers: depth of the mapping network (ADA's cifar preset: 2).
            mbstd_group_size: D's minibatch-stddev group (ADA's cifar preset: 32; StyleGAN2: 4); the group is the
                largest divisor of the (per-process) batch up to it.
            d_architecture: D with residual skips, 'resnet' (StyleGAN2), or without, 'orig' (ADA's cifar preset).
            w_dim: size of w (default null: latent_dim, the size of z; ADA's cifar preset: z and w of 512).
            truncation_psi: default truncation of `sample` (1 = none).
            lazy_regularization: 'separate' (StyleGAN2-ADA's training loop: R1 in a D step of its own every
                `regularization_interval` critic steps, D's Adam corrected for it) or 'folded' (see `R1GAN`).
            g_reg_interval: the generator's lazy regularisation interval (StyleGAN2-ADA: 4). Path-length
                regularisation is not implemented (ADA's cifar preset turns it off), so this only applies the
                reference's Adam correction to G, lr_g * k/(k+1) and betas ** (k/(k+1)); null: none.
            fused_critic: must stay False: D's minibatch-stddev layer mixes the samples of a group, so reals and
                fakes get separate passes.
            ema_kimg: ADA's cifar preset: 500.
        """
        require(architecture == "stylegan", "model.architecture", architecture,
                "StyleGANADA trains the 'stylegan' networks")
        require(0 < truncation_psi <= 1, "model.truncation_psi", truncation_psi, "use a value in (0, 1] (1 = none)")
        require(g_reg_interval is None or g_reg_interval >= 1, "model.g_reg_interval", g_reg_interval,
                "use an integer >= 1 (StyleGAN2-ADA: 4), or null for no correction of G's Adam")
        require(not fused_critic, "model.fused_critic", fused_critic,
                "StyleGANADA's minibatch-stddev layer mixes samples: reals and fakes need separate passes")
        require(0 <= augment_p <= 1, "model.augment_p", augment_p, "use a probability in [0, 1]")
        super().__init__(architecture=architecture, latent_dim=latent_dim, r1_gamma=r1_gamma,
                         regularization_interval=regularization_interval, lazy_regularization=lazy_regularization,
                         fused_critic=fused_critic, ema_kimg=ema_kimg, lr_g=lr_g, lr_d=lr_d, betas=betas, **kwargs)
        self.ada = AdaController(self.critic.augment, ada_heuristic, ada_target, ada_interval, ada_kimg)
        # A p fixed at 0 never changes: the pipe is off (no random draws, no work), as it was before p lived on the
        # device, where reading it would make every pass wait.
        self.critic.augment.enabled = ada_heuristic != "fixed" or augment_p > 0
        self.held_out_images: torch.Tensor | None = None  # r_v's held-out reals, handed over by `connect_data`
        self.held_out_labels: torch.Tensor | None = None  # and their labels when conditional

    def build_networks(self, architecture, data_shape, latent_dim, width=None, critic_dropout=0.0,
                       spectral_norm=False, depth=None, num_classes=None, **options):
        require(not spectral_norm, "model.spectral_norm", spectral_norm, "StyleGANADA's D uses R1, not spectral norm")
        require(depth is None, "model.depth", depth, "only model.architecture=mlp has a depth option; use null")
        generator, discriminator = build_stylegan(data_shape, latent_dim, width, critic_dropout,
                                                  self.hparams.mapping_layers, self.hparams.mbstd_group_size,
                                                  self.hparams.d_architecture, self.hparams.w_dim, num_classes)
        return generator, AugmentedCritic(AugmentPipe(self.hparams.augment, self.hparams.augment_p), discriminator)

    def connect_data(self, datamodule) -> None:
        super().connect_data(datamodule)
        if self.hparams.ada_heuristic == "rv":
            require(getattr(datamodule, "validation_images", 0) > 0, "model.ada_heuristic", "rv",
                    "r_v needs held-out images: set data.validation_images > 0, or use 'rt'")
            self.held_out_images, self.held_out_labels = datamodule.validation_samples, datamodule.validation_labels

    # ------------------------------------------------------------------------------ the p controller
    def on_critic_scores(self, real_scores, fake_scores):
        val_scores = None
        if self.hparams.ada_heuristic == "rv":
            with torch.no_grad():
                val_scores = self.score(*self.validation_batch(real_scores.shape[0]))
        self.ada.accumulate(real_scores, fake_scores, val_scores)

    def after_critic_step(self):
        measured = self.ada.update(lambda t: self.trainer.strategy.reduce(t, reduce_op="sum"))
        if measured is not None:
            self.stats.record({**measured, "ada/p": self.critic.augment.p.clone()})

    def lazy_regularization_intervals(self):
        return {**super().lazy_regularization_intervals(), "g": self.hparams.g_reg_interval}

    def validation_batch(self, n: int) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """n held-out reals for r_v and their labels (None when unconditional), drawn with the global RNG (saved with
        the checkpoint); D scores each with its own label, as the training reals."""
        chosen = torch.randint(len(self.held_out_images), (n,))
        labels = None if self.held_out_labels is None else self.held_out_labels[chosen].to(self.device)
        return to_float(self.held_out_images[chosen]).to(self.device), labels

    def critic_diagnostics(self, real: torch.Tensor, fake: torch.Tensor,
                           labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """The base class's diagnostics of D itself, not of D(augment(x)): measured with p = 0."""
        with self.critic.unaugmented():
            return super().critic_diagnostics(real, fake, labels)

    # ------------------------------------------------------------------------------------ sampling
    def sample(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, ema: bool = True,
               truncation_psi: float = None) -> torch.Tensor:
        """Images for `z` (and `labels` when conditional) from the EMA generator by default, truncated towards
        w_avg by `truncation_psi`."""
        psi = self.hparams.truncation_psi if truncation_psi is None else truncation_psi
        return super().sample(z, labels, ema, truncation_psi=psi)

    # ------------------------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["lightning_gans"]["ada"] = self.ada.state_dict()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)  # upgrades an older checkpoint first; Lightning then loads p
        self.ada.load_state_dict(checkpoint["lightning_gans"]["ada"])

    def upgrade_checkpoint(self, checkpoint: dict) -> None:
        super().upgrade_checkpoint(checkpoint)
        # Older versions kept p in the controller's state, not as the AugmentPipe's buffer.
        p = checkpoint["lightning_gans"]["ada"].pop("p", None)
        if p is not None:
            checkpoint["state_dict"].setdefault(AUGMENT_P_KEY, torch.tensor(p, dtype=torch.float64))
