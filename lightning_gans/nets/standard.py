"""Generators and critics: the standard CNN and ResNet of Miyato et al. (2018), the toy MLP of Gulrajani et al. (2017).

Critics map x (N, *data_shape) to raw scores (N,) as `head(features(x)).squeeze(1)`, where `features` gives the
penultimate features (N, F) that CT-GAN's consistency term compares and `head` is a Linear(F, 1). No critic has
BatchNorm: gradient penalties are per sample, and BatchNorm would make each score depend on the whole batch.
Generators have a `latent_dim` and map z (N, latent_dim) to samples (N, *data_shape); images go through tanh
into [-1, 1]. The networks are device-agnostic and work with channels_last tensors and under autocast.

Class-conditional networks (`num_classes` set; labels are int64 (N,) in 0..C-1) follow Miyato & Koyama (2018) and
their code (sngan_projection): the CNN and ResNet generators' BatchNorms become `ConditionalBatchNorm2d`, the MLP
generator concatenates a label embedding to z, and every critic adds the projection <embed(y), features(x)> to its
output. With `num_classes` None the networks are the unconditional ones, module for module.
"""

from typing import Optional

import torch
from torch import nn
from torch.nn.utils import parametrizations

from lightning_gans.errors import require

CONV_AND_LINEAR = (
    nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
)
# The layers spectral normalisation reparametrises: an Embedding's (classes, features) table is a linear map of
# the one-hot label.
SPECTRAL_NORM_LAYERS = CONV_AND_LINEAR + (nn.Embedding,)


def check_labels(module: nn.Module, labels: Optional[torch.Tensor]) -> None:
    """A conditional network (`module.num_classes` set) needs labels, an unconditional one takes none."""
    if module.num_classes is not None and labels is None:
        raise ValueError(f"{type(module).__name__} is conditional ({module.num_classes} classes): pass labels")
    if module.num_classes is None and labels is not None:
        raise ValueError(f"{type(module).__name__} is unconditional (num_classes None): it takes no labels")


class LabelledSequential(nn.Sequential):
    """nn.Sequential that hands `labels` to the layers that take them (those with `takes_labels`), such as
    `ConditionalBatchNorm2d` and the blocks that contain one; the others see x alone."""

    def forward(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        for layer in self:
            x = layer(x, labels) if getattr(layer, "takes_labels", False) else layer(x)
        return x


class ConditionalBatchNorm2d(nn.Module):
    """BatchNorm without affine parameters, then a gain and a bias per class: gain[y] * BN(x) + bias[y], the gains
    initialised to 1 and the biases to 0 (sngan_projection's CategoricalConditionalBatchNormalization)."""

    takes_labels = True

    def __init__(self, num_features: int, num_classes: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(num_features, affine=False)
        self.gain = nn.Embedding(num_classes, num_features)
        self.bias = nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gain.weight)
        nn.init.zeros_(self.bias.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.gain(labels)[:, :, None, None] * self.norm(x) + self.bias(labels)[:, :, None, None]


def batch_norm(num_classes: Optional[int]):
    """The generators' BatchNorm2d(channels) factory: conditional on the label when `num_classes` is set."""
    if num_classes is None:
        return nn.BatchNorm2d
    return lambda num_features: ConditionalBatchNorm2d(num_features, num_classes)


class Generator(nn.Module):
    """G(z, y) = net([z, embed(y)], y): latent codes (N, latent_dim) to samples (N, *data_shape). Conditional
    generators (`num_classes` set) need labels: `net` hands them to its conditional BatchNorms, and a generator
    with a label `embed` (the MLP) concatenates embed(y) to z."""

    def __init__(self, latent_dim: int, net: LabelledSequential, num_classes: Optional[int] = None,
                 embed: Optional[nn.Embedding] = None):
        super().__init__()
        self.latent_dim, self.num_classes = latent_dim, num_classes
        self.net = net
        if embed is not None:
            self.embed = embed

    def forward(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        check_labels(self, labels)
        if hasattr(self, "embed"):
            z = torch.cat([z, self.embed(labels).to(z.dtype)], dim=1)
        return self.net(z, labels)


class Critic(nn.Module):
    """D(x) = head(body(x)).squeeze(1): raw scores (N,) from penultimate features h = body(x) of shape (N, F).
    Conditional (`num_classes` set), the projection discriminator: D(x, y) = head(h) + <embed(y), h>, the class
    embedding Glorot-uniform (sngan_projection's SNResNetProjectionDiscriminator)."""

    def __init__(self, body: nn.Module, n_features: int, num_classes: Optional[int] = None):
        super().__init__()
        self.num_classes = num_classes
        self.body = body
        self.head = nn.Linear(n_features, 1)
        if num_classes is not None:
            self.embed = nn.Embedding(num_classes, n_features)
            nn.init.xavier_uniform_(self.embed.weight)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def scores(self, features: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        """(N,) scores from penultimate `features` (N, F): the head, plus the projection when conditional."""
        check_labels(self, labels)
        out = self.head(features).squeeze(1)
        if labels is not None:
            out = out + (self.embed(labels).to(features.dtype) * features).sum(dim=1)
        return out

    def forward(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.scores(self.features(x), labels)


class GlobalSumPool(nn.Module):
    """(N, C, H, W) -> (N, C), summing over space (Miyato et al. 2018, table 4)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sum(dim=(2, 3))


class UpBlock(nn.Module):
    """Generator residual block, doubling the resolution:
    out = conv3x3(ReLU(BN(conv3x3(up(ReLU(BN(x))))))) + up(conv1x1(x)), with nearest-neighbour upsampling `up`;
    `norm` makes the BNs (conditional ones take the labels)."""

    takes_labels = True

    def __init__(self, in_channels: int, out_channels: int, norm=nn.BatchNorm2d):
        super().__init__()
        self.residual = LabelledSequential(
            norm(in_channels), nn.ReLU(), nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            norm(out_channels), nn.ReLU(), nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        # A 1x1 conv commutes with nearest upsampling; convolving first is 4x cheaper.
        self.shortcut = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), nn.Upsample(scale_factor=2, mode="nearest")
        )

    def forward(self, x: torch.Tensor, labels: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.residual(x, labels) + self.shortcut(x)


class DownBlock(nn.Module):
    """Critic residual block: out = [pool](conv3x3(ReLU(conv3x3(ReLU(x))))) + shortcut(x). The `first` (optimised)
    block has no ReLU before its first conv, as it sees the input image. The shortcut is [pool](conv1x1(x)) when
    the block pools or changes the channel count, else x; `pool` is 2x2 average pooling. `dropout` > 0 adds
    dropout after each ReLU."""

    def __init__(
        self, in_channels: int, out_channels: int, dropout: float, downsample: bool = False, first: bool = False
    ):
        super().__init__()
        self.residual = nn.Sequential(
            *([] if first else _activated(nn.ReLU(), dropout)),
            nn.Conv2d(in_channels, out_channels, 3, padding=1),
            *_activated(nn.ReLU(), dropout),
            nn.Conv2d(out_channels, out_channels, 3, padding=1),
            nn.AvgPool2d(2) if downsample else nn.Identity(),
        )
        # A 1x1 conv commutes with average pooling; pooling first is 4x cheaper.
        if downsample or in_channels != out_channels:
            pool = nn.AvgPool2d(2) if downsample else nn.Identity()
            self.shortcut = nn.Sequential(pool, nn.Conv2d(in_channels, out_channels, 1))
        else:
            self.shortcut = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


def _activated(activation: nn.Module, dropout: float) -> list[nn.Module]:
    """`activation`, then dropout when `dropout` > 0 (CT-GAN perturbs the critic with it)."""
    return [activation, nn.Dropout(dropout)] if dropout > 0 else [activation]


def _image_size(architecture: str, data_shape: tuple) -> tuple[int, int]:
    """(channels, resolution / 8) of image data (C, R, R) with R a multiple of 8, or a ConfigError."""
    require(
        len(data_shape) == 3, "model.architecture", architecture,
        f"it needs image data (C, H, W) but data_shape is {data_shape}; for 2-D toy data use model.architecture=mlp",
    )
    channels, height, width = data_shape
    require(height == width, "data_shape", data_shape, f"architecture {architecture!r} needs square images (H == W)")
    require(
        height % 8 == 0 and height > 0, "data.resolution", height,
        f"architecture {architecture!r} needs a multiple of 8 such as 32",
    )
    return channels, height // 8


def build_cnn(data_shape: tuple, latent_dim: int, width: Optional[int], dropout: float,
              num_classes: Optional[int] = None) -> tuple[Generator, Critic]:
    """Standard CNN of Miyato et al. (2018, table 3) with base width w (paper: 64) at resolution R:
    G: z -> dense -> (8w, R/8, R/8), BN, ReLU -> [4x4 stride-2 deconv, BN, ReLU] to 4w, 2w, w channels
       -> 3x3 conv to C -> tanh (the BN and ReLU after the dense layer follow the authors' code);
    D: 3x3 s1 w, 4x4 s2 w, 3x3 s1 2w, 4x4 s2 2w, 3x3 s1 4w, 4x4 s2 4w, 3x3 s1 8w convs, each followed by
       LeakyReLU(0.1) -> flatten to 8w * (R/8)^2 features -> dense 1.
    Conditional: class-conditional BNs in G, the projection in D."""
    channels, bottom = _image_size("cnn", data_shape)
    w = width or 64
    norm = batch_norm(num_classes)
    generator_layers = [
        nn.Linear(latent_dim, 8 * w * bottom * bottom), nn.Unflatten(1, (8 * w, bottom, bottom)),
        norm(8 * w), nn.ReLU(),
    ]
    for in_channels, out_channels in ((8 * w, 4 * w), (4 * w, 2 * w), (2 * w, w)):
        generator_layers += [
            nn.ConvTranspose2d(in_channels, out_channels, 4, stride=2, padding=1),
            norm(out_channels),
            nn.ReLU(),
        ]
    generator_layers += [nn.Conv2d(w, channels, 3, padding=1), nn.Tanh()]

    critic_layers, in_channels = [], channels
    for out_channels, kernel_size, stride in (
        (w, 3, 1), (w, 4, 2), (2 * w, 3, 1), (2 * w, 4, 2), (4 * w, 3, 1), (4 * w, 4, 2), (8 * w, 3, 1)
    ):
        critic_layers += [
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=1),
            *_activated(nn.LeakyReLU(0.1), dropout),
        ]
        in_channels = out_channels
    critic = Critic(nn.Sequential(*critic_layers, nn.Flatten()), 8 * w * bottom * bottom, num_classes)
    return Generator(latent_dim, LabelledSequential(*generator_layers), num_classes), critic


def build_resnet(data_shape: tuple, latent_dim: int, width: Optional[int], dropout: float,
                 num_classes: Optional[int] = None) -> tuple[Generator, Critic]:
    """ResNet of Miyato et al. (2018, table 4) and Gulrajani et al. (2017) with critic width w (paper: 128) and
    generator width 2w (paper: 256) at resolution R:
    G: z -> dense -> (2w, R/8, R/8) -> 3 UpBlocks of 2w channels -> BN, ReLU, 3x3 conv to C -> tanh;
    D: optimised DownBlock to w channels (pooling) -> DownBlock (pooling) -> 2 DownBlocks -> ReLU
       -> global sum pooling to w features -> dense 1.
    Conditional: class-conditional BNs in G, the projection in D (sngan_projection's ResNets)."""
    channels, bottom = _image_size("resnet", data_shape)
    w = width or 128
    g = 2 * w
    norm = batch_norm(num_classes)
    generator = Generator(latent_dim, LabelledSequential(
        nn.Linear(latent_dim, g * bottom * bottom), nn.Unflatten(1, (g, bottom, bottom)),
        UpBlock(g, g, norm), UpBlock(g, g, norm), UpBlock(g, g, norm),
        norm(g), nn.ReLU(), nn.Conv2d(g, channels, 3, padding=1), nn.Tanh(),
    ), num_classes)
    critic = Critic(nn.Sequential(
        DownBlock(channels, w, dropout, downsample=True, first=True),
        DownBlock(w, w, dropout, downsample=True),
        DownBlock(w, w, dropout),
        DownBlock(w, w, dropout),
        *_activated(nn.ReLU(), dropout),
        GlobalSumPool(),
    ), w, num_classes)
    return generator, critic


def build_mlp(
    data_shape: tuple, latent_dim: int, width: Optional[int], dropout: float, depth: int = 3,
    num_classes: Optional[int] = None,
) -> tuple[Generator, Critic]:
    """Toy MLP of Gulrajani et al. (2017) with width w (paper: 512) and `depth` hidden layers (paper: 3) for flat
    data of D dimensions (2-D points):
    G: z -> w -> ... -> w (ReLU after each) -> D, no output activation;
    D: D -> w -> ... -> w (ReLU after each) = features -> dense 1.
    Conditional: G's input is z concatenated with a latent_dim-sized label embedding (PyTorch's N(0, 1) init, so
    it has z's scale), D adds the projection."""
    require(
        len(data_shape) == 1, "model.architecture", "mlp",
        f"it needs flat data such as 2-D points but data_shape is {data_shape}; "
        "for images use model.architecture=cnn or resnet",
    )
    require(depth >= 1, "model.depth", depth, "use an integer >= 1 (paper: 3)")
    (dim,) = data_shape
    w = width or 512
    embed = None if num_classes is None else nn.Embedding(num_classes, latent_dim)
    generator_layers = []
    for in_features in [latent_dim * (1 if embed is None else 2)] + [w] * (depth - 1):
        generator_layers += [nn.Linear(in_features, w), nn.ReLU()]
    critic_layers = []
    for in_features in [dim] + [w] * (depth - 1):
        critic_layers += [nn.Linear(in_features, w), *_activated(nn.ReLU(), dropout)]
    generator = Generator(latent_dim, LabelledSequential(*generator_layers, nn.Linear(w, dim)), num_classes, embed)
    return generator, Critic(nn.Sequential(*critic_layers), w, num_classes)


def apply_spectral_norm(module: nn.Module, n_power_iterations: int = 1) -> nn.Module:
    """Reparametrise the weight of every Conv, Linear and Embedding layer in `module` as W / sigma(W) (Miyato et
    al. 2018; the projection critic's class embedding as sngan_projection's SNEmbedID), sigma(W) being the largest
    singular value of W reshaped to (dim 0, -1), estimated by `n_power_iterations` power iterations per forward
    pass in train mode. Returns `module`, changed in place."""
    for layer in list(module.modules()):
        if isinstance(layer, SPECTRAL_NORM_LAYERS):
            parametrizations.spectral_norm(layer, n_power_iterations=n_power_iterations)
    return module


def init_weights(module: nn.Module) -> None:
    """Glorot-uniform weights and zero biases for every Conv and Linear layer (the SN-GAN reference code's ResNets
    use Glorot-uniform too)."""
    for layer in module.modules():
        if isinstance(layer, CONV_AND_LINEAR):
            nn.init.xavier_uniform_(layer.weight)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
