"""AugmentPipe: the identity at p = 0, differentiable at p = 1, p above 1 acting as 1, each op doing what its name
says, and the random draws in stylegan2-ada's order."""

import math

import pytest
import torch
from conftest import one_line_config_error

from lightning_gans.nets.augment import BRIGHTNESS_STD, OPS, AugmentPipe, parse_ops


def images(n=8, channels=1, size=8, seed=0):
    return torch.rand(n, channels, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def augmented(ops, x, seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return AugmentPipe(ops, p=1.0)(x)


@pytest.mark.parametrize("channels", [1, 3])
def test_p_zero_returns_the_input_exactly(channels):
    x = images(channels=channels)
    assert torch.equal(AugmentPipe("bgc", p=0.0)(x), x)


def test_a_switched_off_pipe_returns_the_input_itself_without_drawing_random_numbers():
    pipe, x = AugmentPipe("bgc", p=1.0), images()
    pipe.enabled = False
    state = torch.get_rng_state()
    assert pipe(x) is x and torch.equal(torch.get_rng_state(), state)


@pytest.mark.parametrize("op", OPS)
def test_every_op_is_differentiable_at_p_one(op):
    x = images(n=2, channels=3, size=4).double().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: augmented(op, t), (x,))


def test_the_whole_pipeline_changes_images_and_keeps_their_shape():
    x = images(channels=3)
    y = augmented("bgc", x)
    assert y.shape == x.shape and (y - x).abs().amax(dim=(1, 2, 3)).min() > 0.01


def test_xflip_flips_or_keeps_each_image():
    x = images(n=16)
    y = augmented("xflip", x)
    flipped = [torch.allclose(a, b.flip(-1), atol=1e-5) for a, b in zip(y, x)]
    kept = [torch.allclose(a, b, atol=1e-5) for a, b in zip(y, x)]
    assert all(f != k for f, k in zip(flipped, kept)) and 4 <= sum(flipped) <= 12


def test_rotate90_rotates_each_image_by_a_multiple_of_90_degrees():
    x = images(n=16)
    y = augmented("rotate90", x)
    turns = [[k for k in range(4) if torch.allclose(a, torch.rot90(b, k, (1, 2)), atol=1e-5)] for a, b in zip(y, x)]
    assert all(len(t) == 1 for t in turns) and len({t[0] for t in turns}) >= 3


def test_integer_translation_moves_whole_pixels():
    x = images(n=16, size=16)
    y = augmented("xint", x)
    # Every output pixel is an input pixel of the same image (reflection padding at the border), up to the
    # float32 rounding of the sampling grid.
    for a, b in zip(y, x):
        assert torch.cdist(a.reshape(-1, 1), b.reshape(-1, 1)).min(dim=1).values.max() < 1e-3
    assert any(not torch.allclose(a, b, atol=1e-5) for a, b in zip(y, x))


def test_brightness_shifts_the_mean_and_keeps_the_spread():
    x = images(n=16, channels=3)
    y = augmented("brightness", x)
    shift = (y - x).mean(dim=(1, 2, 3))
    assert torch.allclose(y - x, shift[:, None, None, None].expand_as(x), atol=1e-6)
    assert shift.abs().max() > 0.05


def test_contrast_scales_and_lumaflip_inverts_grayscale():
    x = images(n=16)
    scale = augmented("contrast", x).flatten(1) / x.flatten(1)
    assert torch.allclose(scale, scale[:, :1].expand_as(scale), atol=1e-4) and (scale[:, 0] - 1).abs().max() > 0.1
    y = augmented("lumaflip", x)
    assert all(torch.allclose(a, b, atol=1e-6) or torch.allclose(a, -b, atol=1e-6) for a, b in zip(y, x))


def test_hue_and_saturation_keep_the_luma_and_leave_gray_unchanged():
    x = images(n=16, channels=3)
    for op in ("hue", "saturation"):
        y = augmented(op, x)
        assert torch.allclose(y.mean(dim=1), x.mean(dim=1), atol=1e-5)
        assert (y - x).abs().max() > 0.05
        gray = x[:, :1].expand(-1, 3, -1, -1)
        assert torch.allclose(augmented(op, gray), gray, atol=1e-5)


def test_grayscale_images_skip_hue_and_saturation_without_drawing_random_numbers():
    gray, rgb = images(channels=1), images(channels=3)
    with torch.random.fork_rng():
        state = torch.get_rng_state()
        assert torch.equal(AugmentPipe("hue,saturation", p=1.0)(gray), gray)
        assert torch.equal(torch.get_rng_state(), state)
    assert (augmented("hue,saturation", rgb) - rgb).abs().max() > 0.05


@pytest.mark.parametrize("op", OPS)
def test_every_op_draws_its_parameter_before_whether_it_applies(op, monkeypatch):
    """stylegan2-ada's order: when the op's first gate is drawn, its parameter has already advanced the RNG."""
    states_at_gates, gate = [], AugmentPipe._gate

    def recording_gate(self, *args):
        states_at_gates.append(torch.get_rng_state())
        return gate(self, *args)

    monkeypatch.setattr(AugmentPipe, "_gate", recording_gate)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        start = torch.get_rng_state()
        AugmentPipe(op, p=1.0)(images(channels=3))
    assert states_at_gates and not torch.equal(states_at_gates[0], start)


def test_brightness_shifts_by_the_first_draw_of_the_seed_whatever_grayscale_skips_before_it():
    """Each op draws its parameter before its gate, and on grayscale hue and saturation draw nothing, so at p = 1
    the shifts are the seed's first N normal draws times 0.2 however the spec starts."""
    x = images(n=16)
    torch.manual_seed(0)
    expected = torch.randn(16) * BRIGHTNESS_STD
    for ops in ("brightness", "hue,saturation,brightness"):
        shift = (augmented(ops, x) - x).mean(dim=(1, 2, 3))
        torch.testing.assert_close(shift, expected)


def test_p_above_one_augments_exactly_as_p_one():
    """The controller lets p exceed 1 (as stylegan2-ada's does); every gate then applies its op, as at p = 1."""
    x = images(channels=3)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        above = AugmentPipe("bgc", p=1.5)(x)
    assert torch.equal(above, augmented("bgc", x))


def test_geometric_ops_resample_and_keep_the_range():
    x = images(n=16, size=16)
    for op in ("scale", "rotate", "aniso", "xfrac"):
        y = augmented(op, x)
        assert (y - x).abs().max() > 0.1 and y.abs().max() <= 1 + 1e-5


def test_anisotropic_scaling_squeezes_along_a_random_direction():
    """The geometric matrix composes rotate, aniso, rotate (stylegan2-ada's order), so M^T M = R^T diag(s^2, s^-2) R
    has the off-diagonal (s^2 - s^-2) sin(2 theta) / 2, theta uniform: with log2 s ~ N(0, 0.2^2) its mean square is
    (exp(2 c^2) - 1) / 4, c = 0.4 ln 2. Two rotations before aniso would leave M^T M = diag(s^2, s^-2)."""
    torch.manual_seed(0)
    for ops in ("rotate,aniso", "aniso,rotate"):  # the composition order does not follow the spec's
        matrix = AugmentPipe(ops)._geometric_matrix(4000, 32, "cpu", torch.float32, p=1.0)[:, :2, :2]
        off_diagonal = (matrix.transpose(1, 2) @ matrix)[:, 0, 1]
        c = 0.4 * math.log(2)
        assert off_diagonal.pow(2).mean().item() == pytest.approx((math.exp(2 * c**2) - 1) / 4, rel=0.15)


def test_groups_and_bad_specs():
    assert parse_ops("b") == ("xflip", "rotate90", "xint")
    assert parse_ops("bgc") == OPS
    assert parse_ops("xflip,hue") == ("xflip", "hue")
    assert "model.augment" in one_line_config_error(lambda: parse_ops("bx"))


def test_bfloat16_autocast_images_are_augmented_as_in_float32():
    x = images(n=16, channels=3, size=32).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = augmented("bgc", x)
    assert y.dtype == torch.float32 and torch.equal(y, augmented("bgc", x.float()))
