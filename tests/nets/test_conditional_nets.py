"""Class-conditional networks (issue 25): conditional BatchNorm in G, the projection critic, spectral norm of the
class embedding, StyleGAN's label mapping; and unconditional networks exactly as before conditioning existed."""

import hashlib
import math

import pytest
import torch
from torch import nn

from lightning_gans.nets import build_networks
from lightning_gans.nets.standard import ConditionalBatchNorm2d, Critic
from lightning_gans.nets.stylegan import build_stylegan
from lightning_gans.training.diagnostics import layer_singular_values

SHAPES = {"cnn": (1, 16, 16), "resnet": (1, 16, 16), "mlp": (2,)}
# Of the networks before issue 25 (computed with its code): sha1 of G's then D's state_dict keys (12 hex digits),
# the sum of every floating-point state value, and the sums of G(z) and D(x), seeds as in `fingerprint`.
TODAY = {
    "cnn": ("ccccd8c00943", 122.450757, 354.555524, 0.019826),
    "resnet": ("988653620359", 122.63346, -116.659596, -1.414064),
    "mlp": ("c1ec6de3b98a", -2.600863, -0.24979, 1.42412),
    "stylegan": ("41cc3a1e1a9f", 643.119606, 43.175579, -0.425369),
}


def build(architecture, num_classes=None, spectral_norm=False):
    if architecture == "stylegan":
        return build_stylegan((1, 8, 8), 8, 8, 0.0, mbstd_group_size=2, num_classes=num_classes)
    return build_networks(architecture, SHAPES[architecture], 8, width=4, spectral_norm=spectral_norm,
                          num_classes=num_classes)


def fingerprint(architecture):
    torch.manual_seed(0)
    generator, critic = build(architecture, spectral_norm=architecture in ("cnn", "mlp"))
    torch.manual_seed(1)
    n = 2 if architecture == "stylegan" else 3
    z, x = torch.randn(n, 8), torch.randn(n, *((1, 8, 8) if architecture == "stylegan" else SHAPES[architecture]))
    if architecture == "stylegan":
        torch.manual_seed(2)  # the synthesis noise
    g_sum, d_sum = generator(z).double().sum().item(), critic(x).double().sum().item()
    states = {**generator.state_dict(), **{f"D.{k}": v for k, v in critic.state_dict().items()}}
    keys = list(generator.state_dict()) + list(critic.state_dict())
    total = sum(v.double().sum().item() for v in states.values() if v.is_floating_point())
    return hashlib.sha1(" ".join(keys).encode()).hexdigest()[:12], total, g_sum, d_sum


@pytest.mark.parametrize("architecture", list(TODAY))
def test_unconditional_networks_have_todays_modules_init_and_outputs(architecture):
    keys, total, g_sum, d_sum = fingerprint(architecture)
    expected_keys, expected_total, expected_g, expected_d = TODAY[architecture]
    assert keys == expected_keys
    assert total == pytest.approx(expected_total, rel=1e-6, abs=1e-5)
    assert (g_sum, d_sum) == pytest.approx((expected_g, expected_d), rel=1e-5, abs=1e-5)


@pytest.mark.parametrize("architecture", ["cnn", "resnet"])
def test_every_batch_norm_of_the_conditional_generator_is_conditional_with_gain_1_and_bias_0(architecture):
    generator, _ = build(architecture, num_classes=3)
    norms = [m for m in generator.modules() if isinstance(m, ConditionalBatchNorm2d)]
    unconditional, _ = build(architecture)
    assert len(norms) == sum(isinstance(m, nn.BatchNorm2d) for m in unconditional.modules()) > 0
    assert not any(isinstance(m, nn.BatchNorm2d) and m.affine for m in generator.modules())
    for norm in norms:
        assert norm.gain.weight.shape == norm.bias.weight.shape == (3, norm.norm.num_features)
        assert torch.equal(norm.gain.weight, torch.ones_like(norm.gain.weight))
        assert torch.equal(norm.bias.weight, torch.zeros_like(norm.bias.weight))


def perturbed(module):
    """`module` with every class embedding drawn anew (at init cBN's gains and biases are equal for all classes)."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Embedding):
                layer.weight.normal_(1.0, 0.5)
    return module


@pytest.mark.parametrize("architecture", ["cnn", "resnet", "mlp", "stylegan"])
def test_conditional_generator_samples_have_the_data_shape_and_depend_on_the_label(architecture):
    torch.manual_seed(0)
    if architecture == "mlp":  # wide enough that no unit the label feeds is dead for all four samples
        generator, _ = build_networks("mlp", (2,), 8, width=32, num_classes=3)
    else:
        generator, _ = build(architecture, num_classes=3)
    generator = perturbed(generator).eval()
    z = torch.randn(4, 8)
    torch.manual_seed(1)
    first = generator(z, torch.tensor([0, 1, 2, 0]))
    torch.manual_seed(1)
    second = generator(z, torch.tensor([0, 2, 2, 1]))
    shape = (1, 8, 8) if architecture == "stylegan" else SHAPES[architecture]
    assert first.shape == (4, *shape)
    assert torch.allclose(first[[0, 2]], second[[0, 2]], atol=1e-6)  # same label, same sample
    assert not torch.equal(first[1], second[1]) and not torch.equal(first[3], second[3])


def test_conditional_batch_norm_gradients_reach_only_the_rows_of_the_classes_used():
    norm = ConditionalBatchNorm2d(4, num_classes=5)
    x = torch.randn(6, 4, 3, 3)
    (norm(x, torch.tensor([1, 3, 1, 3, 3, 1])) * torch.randn(6, 4, 3, 3)).sum().backward()
    for table in (norm.gain, norm.bias):
        used = table.weight.grad.abs().sum(dim=1) > 0
        assert used.tolist() == [False, True, False, True, False]


def test_projection_critic_is_the_head_plus_the_inner_product_of_class_embedding_and_features():
    critic = Critic(nn.Identity(), n_features=2, num_classes=3)
    with torch.no_grad():
        critic.head.weight.copy_(torch.tensor([[1.0, 2.0]]))
        critic.head.bias.fill_(0.5)
        critic.embed.weight.copy_(torch.tensor([[1.0, 0.0], [0.0, -1.0], [3.0, 1.0]]))
    x = torch.tensor([[2.0, 1.0], [2.0, 1.0], [-1.0, 4.0]])
    scores = critic(x, torch.tensor([0, 1, 2]))
    # head: 1*x1 + 2*x2 + 0.5; projection: <embed(y), x>
    assert scores.tolist() == [4.5 + 2.0, 4.5 - 1.0, 7.5 + 1.0]


@pytest.mark.parametrize("architecture", ["cnn", "resnet", "mlp"])
def test_each_projection_score_depends_on_its_own_label_only(architecture):
    torch.manual_seed(0)
    _, critic = build(architecture, num_classes=4)
    x = torch.randn(3, *SHAPES[architecture])
    a, b = critic(x, torch.tensor([0, 1, 2])), critic(x, torch.tensor([0, 3, 2]))
    assert torch.equal(a[[0, 2]], b[[0, 2]]) and a[1] != b[1]
    assert torch.allclose(a - critic.head(critic.features(x)).squeeze(1),
                          (critic.embed(torch.tensor([0, 1, 2])) * critic.features(x)).sum(1), atol=1e-5)


def test_spectral_norm_normalises_the_class_embedding_as_snembedid():
    torch.manual_seed(0)
    _, critic = build_networks("cnn", (1, 8, 8), 8, width=4, spectral_norm=True, num_classes=10)
    assert nn.utils.parametrize.is_parametrized(critic.embed, "weight")
    x, labels = torch.randn(2, 1, 8, 8), torch.tensor([0, 1])
    for _ in range(30):  # power iterations (train mode)
        critic(x, labels)
    assert layer_singular_values(critic)["embed"].item() == pytest.approx(1.0, abs=1e-3)


def test_projection_embedding_starts_glorot_uniform():
    torch.manual_seed(0)
    critic = Critic(nn.Identity(), n_features=64, num_classes=100)
    bound = math.sqrt(6 / (100 + 64))
    assert critic.embed.weight.abs().max() <= bound and critic.embed.weight.abs().max() > 0.9 * bound


@pytest.mark.parametrize("architecture", ["cnn", "mlp", "stylegan"])
def test_a_conditional_network_without_labels_and_an_unconditional_one_with_labels_are_errors(architecture):
    conditional, unconditional = build(architecture, num_classes=3), build(architecture)
    n = 2
    z = torch.randn(n, 8)
    x = torch.randn(n, *((1, 8, 8) if architecture == "stylegan" else SHAPES[architecture]))
    for network, inputs in ((conditional[0], z), (conditional[1], x)):
        with pytest.raises(ValueError, match="conditional \\(3 classes\\): pass labels"):
            network(inputs)
    for network, inputs in ((unconditional[0], z), (unconditional[1], x)):
        with pytest.raises(ValueError, match="unconditional"):
            network(inputs, torch.tensor([0, 1]))


def test_stylegan_critic_projects_its_output_on_the_mapped_label():
    torch.manual_seed(0)
    _, critic = build("stylegan", num_classes=3)
    x, labels = torch.randn(4, 1, 8, 8), torch.tensor([0, 2, 1, 2])
    outputs = []
    critic.out.register_forward_hook(lambda module, inputs, output: outputs.append(output))
    scores = critic(x, labels)
    cmap = critic.mapping(None, labels)
    assert outputs[0].shape == cmap.shape == (4, 8)  # cmap_dim: D's channels at 4x4
    assert torch.allclose(scores, (outputs[0] * cmap).sum(dim=1) / math.sqrt(8), atol=1e-6)


def test_stylegan_mapping_concatenates_the_normalised_embedded_one_hot_label_to_the_normalised_z():
    torch.manual_seed(0)
    generator, _ = build("stylegan", num_classes=3)
    mapping = generator.mapping
    inputs = []
    mapping.net[0].register_forward_hook(lambda module, args, output: inputs.append(args[0]))
    z, labels = torch.randn(2, 8) * 3, torch.tensor([2, 0])
    mapping(z, labels)
    embedded = mapping.embed(nn.functional.one_hot(labels, 3).float())
    normalise = lambda v: v / v.square().mean(dim=1, keepdim=True).sqrt()  # noqa: E731
    assert torch.allclose(inputs[0], torch.cat([normalise(z), normalise(embedded)], dim=1), atol=1e-5)
