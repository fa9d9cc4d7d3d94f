"""StyleGAN's network options: D's architecture ('resnet' with residual skips, 'orig' without) and the size of w."""

import math

import pytest
import torch
import torch.nn.functional as F

from lightning_gans.nets.stylegan import D_ARCHITECTURES, DiscriminatorBlock, build_stylegan

# width 8 at 32 px: D's blocks 32 -> 16 (4 -> 8 channels), 16 -> 8 and 8 -> 4 (8 -> 8).
BLOCK_CHANNELS = ((4, 8), (8, 8), (8, 8))


def critic(d_architecture=None, resolution=32, channels=1):
    options = {} if d_architecture is None else {"d_architecture": d_architecture}
    return build_stylegan((channels, resolution, resolution), latent_dim=16, width=8, dropout=0, **options)[1]


def parameter_names(skip: bool) -> list[str]:
    block = ("conv0.weight", "conv0.bias", "conv1.weight", "conv1.bias") + (("skip.weight",) if skip else ())
    return (["from_rgb.weight", "from_rgb.bias"] + [f"blocks.{i}.{name}" for i in range(3) for name in block]
            + ["conv.weight", "conv.bias", "fc.weight", "fc.bias", "out.weight", "out.bias"])


def parameter_count(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_the_default_d_is_resnet_with_the_parameter_names_checkpoints_hold():
    default = critic()
    assert [name for name, _ in default.named_parameters()] == parameter_names(skip=True)
    skip_shapes = [tuple(block.skip.weight.shape) for block in default.blocks]
    assert skip_shapes == [(out, inp, 1, 1) for inp, out in BLOCK_CHANNELS]
    torch.manual_seed(0)
    explicit = critic("resnet").state_dict()
    torch.manual_seed(0)
    assert all(torch.equal(value, explicit[key]) for key, value in critic().state_dict().items())


def test_orig_d_has_no_skips_and_lacks_exactly_their_weights():
    orig, resnet = critic("orig"), critic("resnet")
    assert [name for name, _ in orig.named_parameters()] == parameter_names(skip=False)
    skip_weights = sum(inp * out for inp, out in BLOCK_CHANNELS)  # 1x1 convolutions without bias
    assert parameter_count(resnet) - parameter_count(orig) == skip_weights


def test_a_block_adds_the_scaled_skip_only_in_resnet():
    """resnet: (pool(conv1(conv0(x))) + skip(pool(x))) * sqrt(1/2); orig: pool(conv1(conv0(x)))."""
    torch.manual_seed(0)
    x = torch.randn(2, 4, 8, 8)
    resnet, orig = DiscriminatorBlock(4, 8), DiscriminatorBlock(4, 8, residual=False)
    orig.load_state_dict({k: v for k, v in resnet.state_dict().items() if not k.startswith("skip.")})
    main = F.avg_pool2d(resnet.conv1(resnet.conv0(x)), 2)
    assert torch.equal(orig(x), main)
    assert torch.equal(resnet(x), (main + resnet.skip(F.avg_pool2d(x, 2))) * math.sqrt(0.5))


@pytest.mark.parametrize("resolution", [32, 64])
@pytest.mark.parametrize("d_architecture", D_ARCHITECTURES)
def test_both_d_architectures_score_each_image_and_pass_gradients_to_every_weight(d_architecture, resolution):
    torch.manual_seed(0)
    discriminator = critic(d_architecture, resolution, channels=3)
    images = torch.randn(4, 3, resolution, resolution, requires_grad=True)
    scores = discriminator(images)
    assert scores.shape == (4,)
    scores.sum().backward()
    assert images.grad.abs().amax(dim=(1, 2, 3)).min() > 0
    assert all(p.grad is not None and p.grad.abs().max() > 0 for p in discriminator.parameters())


def test_w_dim_sets_the_size_of_w_and_z_keeps_latent_dim():
    torch.manual_seed(0)
    generator, _ = build_stylegan((3, 32, 32), latent_dim=16, width=8, dropout=0, w_dim=24)
    z = torch.randn(5, 16)
    assert generator.latent_dim == 16 and generator.mapping(z).shape == (5, 24)
    assert generator.mapping.w_avg.shape == (24,)
    assert [tuple(layer.weight.shape) for layer in generator.mapping.net] == [(24, 16), (24, 24)]
    assert {m.affine.weight.shape[1] for name, m in generator.named_modules() if name.endswith(".conv")} == {24}
    images = generator(z)
    assert images.shape == (5, 3, 32, 32)
    images.square().sum().backward()
    assert all(layer.weight.grad.abs().max() > 0 for layer in generator.mapping.net)


def test_w_dim_null_is_latent_dim():
    torch.manual_seed(0)
    default, _ = build_stylegan((1, 32, 32), latent_dim=16, width=8, dropout=0)
    torch.manual_seed(0)
    explicit, _ = build_stylegan((1, 32, 32), latent_dim=16, width=8, dropout=0, w_dim=16)
    expected = explicit.state_dict()
    assert all(torch.equal(value, expected[key]) for key, value in default.state_dict().items())
    assert default.mapping(torch.randn(3, 16)).shape == (3, 16)
