"""lightning-gans: PyTorch Lightning experiment suite for stable GAN training."""

from lightning_gans.data import ImageDataModule, Toy2DDataModule
from lightning_gans.r1gan import R1GAN
from lightning_gans.sngan import SNGAN
from lightning_gans.stylegan_ada import StyleGANADA
from lightning_gans.technique import TECHNIQUES, GANTechnique
from lightning_gans.wgan import WGAN
from lightning_gans.wgan_gp import WGANGP

__all__ = ["GANTechnique", "TECHNIQUES", "WGAN", "WGANGP", "SNGAN", "R1GAN", "StyleGANADA", "ImageDataModule", "Toy2DDataModule"]
