"""A small StyleGAN2 (Karras et al. 2020, config F with ADA's cifar preset for depth), after stylegan2-ada's
`training/networks.py`: the generator and critic `StyleGANADA` trains (its architecture 'stylegan'). Not in
`nets.ARCHITECTURES`: spectral norm, critic dropout and CT-GAN's features/head do not apply to it, and its
mapping depth is an extra option; `build_stylegan` builds the pair.

G: z -> mapping network (normalise z, `mapping_layers` fully connected layers, lr multiplier 0.01) -> w; synthesis
   from a learned 4x4 constant: per resolution two 3x3 modulated/demodulated convolutions (the first after 2x
   upsampling) with per-pixel noise, and a toRGB layer whose output is added to the upsampled image (skips).
   The mapping network tracks w_avg, the moving average of w, for the truncation trick.
D: fromRGB at the top resolution, then per resolution [3x3 conv, 3x3 conv, 2x down]; 'resnet' (StyleGAN2's
   default) adds a [2x down, 1x1 conv] skip to each and scales the sum by sqrt(1/2), 'orig' (ADA's cifar preset)
   has no skips; at 4x4 minibatch standard deviation, 3x3 conv, dense, dense 1. The minibatch stddev makes each
   score depend on its group (`mbstd_group_size` samples, capped by the batch), so R1 is the gradient of the
   summed scores, as stylegan2-ada computes it.
Conditional (`num_classes` set; int64 labels y, one-hot encoded inside as stylegan2-ada's c): G's mapping network
embeds y with a dense layer to w_dim features, normalises their 2nd moment and concatenates them to the normalised
z; D maps y with a mapping network of its own (no z, 8 layers, stylegan2-ada's default) to cmap (cmap_dim = D's
channels at 4x4), its last dense layer outputs cmap_dim features x, and D(x, y) = <x, cmap> / sqrt(cmap_dim).
Every weight uses the equalized learning rate: stored as N(0, 1) / lr_mul and scaled by lr_mul / sqrt(fan_in) at
run time. Lite: bilinear up/downsampling instead of the FIR filters, one w for all layers (no style mixing), no
activation clamping. The output is not squashed (as in StyleGAN2); images are meant to lie in [-1, 1].
"""

import math
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gans.errors import require
from lightning_gans.nets.standard import check_labels

LRELU_GAIN = math.sqrt(2)
# D's architectures, stylegan2-ada's names: 'resnet' with residual skips, 'orig' without.
D_ARCHITECTURES = ("resnet", "orig")
D_MAPPING_LAYERS = 8  # depth of D's label mapping network (stylegan2-ada's MappingNetwork default)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (0.2) scaled by sqrt(2) to keep the signal's magnitude (StyleGAN2's bias_act)."""
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


class EqualLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init)))
        self.weight_gain, self.lr_mul, self.activate = lr_mul / math.sqrt(in_features), lr_mul, activate

    @property
    def effective_weight(self) -> torch.Tensor:
        """The weight the layer applies (what `diagnostics.layer_singular_values` measures)."""
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.effective_weight, self.bias * self.lr_mul)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    """Same-padded convolution with equalized learning rate, optional bias and scaled leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True,
                 activate: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.weight_gain, self.activate = 1 / math.sqrt(in_channels * kernel_size**2), activate

    @property
    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.effective_weight, self.bias, padding=self.weight.shape[-1] // 2)
        return lrelu(x) if self.activate else x


def normalize_2nd_moment(x: torch.Tensor) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + 1e-8).rsqrt()


class MappingNetwork(nn.Module):
    """[z (latent_dim), embed(y) (w_dim)] -> w (w_dim): the first layer maps its input to w_dim features, the
    others keep w_dim. With `num_classes` the one-hot label is embedded by a dense layer (`embed`) and both parts
    are normalised before the concatenation; latent_dim 0 maps the label alone (D's cmap). `w_avg_beta` None
    tracks no w_avg."""

    def __init__(self, latent_dim: int, layers: int, w_dim: int, w_avg_beta: Optional[float] = 0.995,
                 num_classes: Optional[int] = None):
        super().__init__()
        self.num_classes = num_classes
        if num_classes is not None:
            self.embed = EqualLinear(num_classes, w_dim)
        in_features = latent_dim + (0 if num_classes is None else w_dim)
        self.net = nn.Sequential(*[EqualLinear(in_features if i == 0 else w_dim, w_dim, lr_mul=0.01, activate=True)
                                   for i in range(layers)])
        self.w_avg_beta = w_avg_beta
        if w_avg_beta is not None:
            self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: Optional[torch.Tensor], labels: Optional[torch.Tensor] = None,
                truncation_psi: float = 1.0) -> torch.Tensor:
        check_labels(self, labels)
        parts = [] if z is None else [normalize_2nd_moment(z)]
        if labels is not None:
            one_hot = F.one_hot(labels, self.num_classes).to(self.embed.weight.dtype)
            parts.append(normalize_2nd_moment(self.embed(one_hot)))
        w = self.net(torch.cat(parts, dim=1))
        if self.w_avg_beta is None:
            return w
        if self.training:
            self.w_avg.copy_(w.detach().float().mean(dim=0).lerp(self.w_avg, self.w_avg_beta))  # float32 under autocast
        return w if truncation_psi == 1 else self.w_avg.lerp(w, truncation_psi)


class ModulatedConv2d(nn.Module):
    """Convolution whose input channels are scaled per sample by a style from w (modulation), with output channels
    renormalised to unit expected magnitude (demodulation), as one grouped convolution."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int, demodulate: bool = True):
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.weight_gain, self.demodulate = 1 / math.sqrt(in_channels * kernel_size**2), demodulate

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        n, in_channels, height, width = x.shape
        weight = self.weight[None] * self.weight_gain * self.affine(w)[:, None, :, None, None]  # (N, O, I, k, k)
        if self.demodulate:
            weight = weight * (weight.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
        out = F.conv2d(x.reshape(1, n * in_channels, height, width), weight.flatten(0, 1),
                       padding=self.weight.shape[-1] // 2, groups=n)
        return out.reshape(n, -1, height, width)


class SynthesisLayer(nn.Module):
    """[2x up] -> modulated 3x3 conv -> + per-pixel noise * learned strength -> + bias -> scaled leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, upsample: bool = False):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim)
        self.noise_strength = nn.Parameter(torch.zeros([]))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.upsample = upsample

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = self.conv(x, w)
        noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
        return lrelu(x + noise * self.noise_strength + self.bias[:, None, None])


class ToRGB(nn.Module):
    def __init__(self, in_channels: int, image_channels: int, w_dim: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, image_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[:, None, None]


class SynthesisBlock(nn.Module):
    """One resolution: two synthesis layers (the first upsampling, except at 4x4) and the toRGB skip."""

    def __init__(self, in_channels: int, out_channels: int, image_channels: int, w_dim: int, first: bool):
        super().__init__()
        self.layers = nn.ModuleList([SynthesisLayer(in_channels, out_channels, w_dim, upsample=not first)]
                                    + ([] if first else [SynthesisLayer(out_channels, out_channels, w_dim)]))
        self.to_rgb = ToRGB(out_channels, image_channels, w_dim)

    def forward(self, x, image, w):
        for layer in self.layers:
            x = layer(x, w)
        rgb = self.to_rgb(x, w)
        if image is not None:
            rgb = rgb + F.interpolate(image, scale_factor=2, mode="bilinear", align_corners=False)
        return x, rgb


class StyleGenerator(nn.Module):
    """G(z, y) = synthesis(mapping(z, y)); `forward(z, labels, truncation_psi)` pulls w towards w_avg when psi < 1.
    z has `latent_dim` features, w `w_dim`; conditional (`num_classes` set) it needs labels."""

    def __init__(self, latent_dim: int, image_channels: int, resolution: int, width: int, mapping_layers: int,
                 w_dim: int, num_classes: Optional[int] = None):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.mapping = MappingNetwork(latent_dim, mapping_layers, w_dim, num_classes=num_classes)
        resolutions = [2**i for i in range(2, int(math.log2(resolution)) + 1)]
        self.const = nn.Parameter(torch.randn(channels_at(4, width), 4, 4))
        self.blocks = nn.ModuleList(
            SynthesisBlock(channels_at(max(r // 2, 4), width), channels_at(r, width), image_channels, w_dim,
                           first=r == 4)
            for r in resolutions
        )

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None,
                truncation_psi: float = 1.0) -> torch.Tensor:
        w = self.mapping(z, labels, truncation_psi)
        x, image = self.const.expand(z.shape[0], -1, -1, -1), None
        for block in self.blocks:
            x, image = block(x, image, w)
        return image


class DiscriminatorBlock(nn.Module):
    """[3x3 conv, 3x3 conv, 2x down], with `residual` plus a [2x down, 1x1 conv] skip and the sum scaled by
    sqrt(1/2)."""

    def __init__(self, in_channels: int, out_channels: int, residual: bool = True):
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False, activate=False) if residual else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.avg_pool2d(self.conv1(self.conv0(x)), 2)
        if self.skip is None:
            return out
        return (out + self.skip(F.avg_pool2d(x, 2))) * math.sqrt(0.5)


def minibatch_stddev(x: torch.Tensor, group_size: int = 4) -> torch.Tensor:
    """Append one feature map: the standard deviation of each feature over a group of samples, averaged over
    features and pixels. The group is the largest divisor of N up to `group_size`; sample i is in group i mod
    (N / group)."""
    n, c, h, w = x.shape
    group = max(d for d in range(1, min(group_size, n) + 1) if n % d == 0)
    y = x.float().reshape(group, n // group, c, h, w)
    y = (y.var(dim=0, unbiased=False) + 1e-8).sqrt().mean(dim=(1, 2, 3))  # (N / group,)
    y = y.to(x.dtype).reshape(1, -1, 1, 1, 1).expand(group, -1, 1, h, w).reshape(n, 1, h, w)
    return torch.cat([x, y], dim=1)


class StyleCritic(nn.Module):
    """D(x): raw scores (N,) from StyleGAN2's discriminator (named like `nets.Critic`, whose role it has);
    `mbstd_group_size` is minibatch_stddev's group (StyleGAN2: 4; ADA's cifar preset: 32), `architecture` one of
    D_ARCHITECTURES. Conditional (`num_classes` set): D(x, y) = <out(x), cmap(y)> / sqrt(cmap_dim), stylegan2-ada's
    DiscriminatorEpilogue."""

    def __init__(self, image_channels: int, resolution: int, width: int, mbstd_group_size: int = 4,
                 architecture: str = "resnet", num_classes: Optional[int] = None):
        super().__init__()
        self.mbstd_group_size, self.num_classes = mbstd_group_size, num_classes
        self.from_rgb = EqualConv2d(image_channels, channels_at(resolution, width), 1)
        resolutions = [2**i for i in range(int(math.log2(resolution)), 2, -1)]
        self.blocks = nn.Sequential(*[DiscriminatorBlock(channels_at(r, width), channels_at(r // 2, width),
                                                         residual=architecture == "resnet")
                                      for r in resolutions])
        c = channels_at(4, width)
        self.conv = EqualConv2d(c + 1, c, 3)
        self.fc = EqualLinear(c * 16, c, activate=True)
        self.out = EqualLinear(c, 1 if num_classes is None else c)
        if num_classes is not None:
            self.mapping = MappingNetwork(0, D_MAPPING_LAYERS, c, w_avg_beta=None, num_classes=num_classes)

    def forward(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_labels(self, labels)
        x = self.conv(minibatch_stddev(self.blocks(self.from_rgb(x)), self.mbstd_group_size))
        x = self.out(self.fc(x.flatten(1)))
        if labels is None:
            return x.squeeze(1)
        cmap = self.mapping(None, labels).to(x.dtype)
        return (x * cmap).sum(dim=1) / math.sqrt(cmap.shape[1])


def channels_at(resolution: int, width: int) -> int:
    """`width` channels up to 16x16, halved at each resolution above (StyleGAN2's channel_base / resolution)."""
    return max(min(width, width * 16 // resolution), 1)


def build_stylegan(data_shape: tuple, latent_dim: int, width: Optional[int], dropout: float, mapping_layers: int = 2,
                   mbstd_group_size: int = 4, d_architecture: str = "resnet",
                   w_dim: Optional[int] = None,
                   num_classes: Optional[int] = None) -> tuple[StyleGenerator, StyleCritic]:
    """(G, D) at resolution R (a power of two >= 4) with base width w (default 128), `mapping_layers` (ADA's
    cifar preset: 2), D's minibatch-stddev group `mbstd_group_size` (StyleGAN2: 4; ADA's cifar preset: 32), D's
    `d_architecture` (StyleGAN2: 'resnet'; ADA's cifar preset: 'orig') and w's size `w_dim` (default latent_dim;
    ADA's cifar preset: z and w of 512); `num_classes` None for unconditional networks, else C."""
    require(len(data_shape) == 3, "model.architecture", "stylegan", f"it needs images (C, H, W), not {data_shape}")
    channels, height, width_px = data_shape
    require(height == width_px and height >= 4 and height & (height - 1) == 0, "data.resolution", height,
            "architecture 'stylegan' needs square images with a power-of-two size such as 32 or 64")
    require(dropout == 0, "model.critic_dropout", dropout, "architecture 'stylegan' has no dropout: use 0")
    require(mapping_layers >= 1, "model.mapping_layers", mapping_layers, "use an integer >= 1 (cifar preset: 2)")
    require(mbstd_group_size >= 1, "model.mbstd_group_size", mbstd_group_size,
            "use an integer >= 1 (cifar preset: 32; capped by the batch)")
    require(d_architecture in D_ARCHITECTURES, "model.d_architecture", d_architecture,
            f"choose one of {', '.join(D_ARCHITECTURES)} (StyleGAN2: resnet; ADA's cifar preset: orig)")
    require(w_dim is None or w_dim >= 1, "model.w_dim", w_dim,
            "use an integer >= 1, or null for latent_dim (ADA's cifar preset: 512)")
    w = width or 128
    return (StyleGenerator(latent_dim, channels, height, w, mapping_layers, w_dim or latent_dim, num_classes),
            StyleCritic(channels, height, w, mbstd_group_size, d_architecture, num_classes))
