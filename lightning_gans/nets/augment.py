"""Adaptive discriminator augmentation's differentiable augmentations (Karras et al. 2020), after
stylegan2-ada's `augment.py`, for images in [-1, 1] of shape (N, C, H, W) with C = 1 or 3.

Every op is applied to each image independently with probability p, with its own random parameter:
- 'b' pixel blitting: x-flip, 90-degree rotations, integer translation;
- 'g' general geometric: isotropic scaling, arbitrary rotation, anisotropic scaling, arbitrary rotation again (each
  rotation with probability 1 - sqrt(1 - p) as in the paper, so the squeeze has a random direction), fractional
  translation;
- 'c' colour: brightness, contrast, luma flip, hue rotation, saturation; hue and saturation act on RGB only, and
  grayscale images skip them without drawing their random numbers (as stylegan2-ada does).
The 'b' and 'g' ops are composed in the order listed here, whatever the order of the spec, into one affine matrix
per image and applied with one bilinear `grid_sample` (reflection padding); blits land on pixel centres, so they
move whole pixels (up to the float rounding of the grid). The colour ops are composed into one 4x4 matrix acting
on homogeneous RGB (grayscale: on the luma).
Each op draws its parameter, then whether it applies (stylegan2-ada's order). Lite: no anti-aliasing filter around
the resampling, no cutout or noise ops. Everything is differentiable w.r.t. the images; p = 0 returns them
unchanged, and p above 1 (which the ADA controller allows, as stylegan2-ada's does) acts as p = 1.
As in stylegan2-ada, p is a buffer of the pipe: it is saved in the module's state_dict, moves with the module, and
the ADA controller (`techniques.ada`) adjusts it in place. The pipe never reads p on the host (that would make every
pass wait for the device): it draws its random numbers whatever p is, and returns the images unchanged while p is 0.
A pipe that is switched off (`enabled` False: a fixed p of 0, or D's diagnostics) returns them as they are, without
drawing.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

from lightning_gans.errors import require

GROUPS = {
    "b": ("xflip", "rotate90", "xint"),
    "g": ("scale", "rotate", "aniso", "xfrac"),
    "c": ("brightness", "contrast", "lumaflip", "hue", "saturation"),
}
OPS = tuple(op for ops in GROUPS.values() for op in ops)
# Colour ops that keep the luma: grayscale images, which are only a luma, skip them.
RGB_ONLY = ("hue", "saturation")
# The order the geometric ops compose in (stylegan2-ada's): rotate comes before and after aniso, so the anisotropic
# squeeze happens along a random direction.
GEOMETRIC_ORDER = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "rotate", "xfrac")
# Strengths of stylegan2-ada's AugmentPipe defaults (translations in units of the image size).
XINT_MAX, SCALE_STD, ROTATE_MAX, ANISO_STD, XFRAC_STD = 0.125, 0.2, 1.0, 0.2, 0.125
BRIGHTNESS_STD, CONTRAST_STD, HUE_MAX, SATURATION_STD = 0.2, 0.5, 1.0, 1.0
LUMA_AXIS = torch.tensor([1.0, 1.0, 1.0, 0.0]) / math.sqrt(3)


def parse_ops(augment: str) -> tuple[str, ...]:
    """The ops of a pipeline spec: a string of group letters ('bgc') or comma-separated op names ('xflip,hue')."""
    names = [op for group in augment for op in GROUPS[group]] if set(augment) <= set(GROUPS) else augment.split(",")
    require(augment != "" and all(op in OPS for op in names), "model.augment", augment,
            f"use group letters from 'bgc' or comma-separated ops from {', '.join(OPS)}")
    return tuple(names)


class AugmentPipe(nn.Module):
    """augment(x): each of `ops` applied to each image with probability `p`, a buffer (0-d, float64: the ADA
    controller's steps are computed in double precision, which a float32 p would round)."""

    def __init__(self, augment: str = "bgc", p: float = 0.0):
        super().__init__()
        self.ops = parse_ops(augment)
        self.register_buffer("p", torch.tensor(float(p), dtype=torch.float64))
        self.enabled = True  # False: the identity, without random draws (a host flag: its owner knows p stays 0)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if not self.enabled:
            return images
        # At least float32 and outside autocast: a bfloat16 grid would move blits off the pixel centres.
        with torch.autocast(images.device.type, enabled=False):
            augmented = self._augment(images.to(torch.promote_types(images.dtype, torch.float32)), self.p)
            # p = 0 on the device: the images exactly (resampling with the identity matrix would round them).
            return torch.where(self.p > 0, augmented, images)

    def _augment(self, images: torch.Tensor, p: torch.Tensor) -> torch.Tensor:
        n, dtype, device = images.shape[0], torch.float32, images.device
        geometric = self._geometric_matrix(n, images.shape[-1], device, dtype, p)
        if geometric is not None:
            grid = F.affine_grid(geometric[:, :2, :].to(images.dtype), list(images.shape), align_corners=False)
            images = F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
        colour = self._colour_matrix(n, images.shape[1], device, dtype, p)
        if colour is not None:
            colour = colour.to(images.dtype)
            if images.shape[1] == 1:  # grayscale: the luma row, as stylegan2-ada does
                colour = colour[:, :3, :].mean(dim=1, keepdim=True)
                images = images * colour[:, :, :3].sum(dim=2)[..., None, None] + colour[:, :, 3][..., None, None]
            else:
                flat = images.flatten(2)
                images = (colour[:, :3, :3] @ flat + colour[:, :3, 3:]).reshape(images.shape)
        return images

    # ------------------------------------------------------------------------------------ random draws
    def _gate(self, n: int, device, probability) -> torch.Tensor:
        """(N,) bool: which images get an op, each with `probability`."""
        return torch.rand(n, device=device) < probability

    def _geometric_matrix(self, n, size, device, dtype, p):
        """(N, 3, 3) map from output to input coordinates in [-1, 1] (what `affine_grid` takes), or None.

        Each op's inverse has the same distribution as the op, so the draws are composed directly as the inverse."""
        ops = [op for op in GEOMETRIC_ORDER if op in self.ops]
        if not ops:
            return None
        matrix = torch.eye(3, device=device, dtype=dtype).repeat(n, 1, 1)
        ones, zeros = torch.ones(n, device=device, dtype=dtype), torch.zeros(n, device=device, dtype=dtype)
        # P(rotated before or after the squeeze) = p; p may be a 0-d tensor on the device or a float
        p_rotate = 1 - torch.sqrt(torch.as_tensor(1 - p, dtype=torch.float64).clamp(min=0))
        for op in ops:
            if op == "xflip":
                flip = torch.randint(2, (n,), device=device).to(dtype) * self._gate(n, device, p)
                step = _scale(1 - 2 * flip, ones)
            elif op == "rotate90":
                quarter = torch.randint(4, (n,), device=device).to(dtype) * self._gate(n, device, p)
                step = _rotate(quarter * math.pi / 2)
            elif op == "xint":
                shift = (torch.rand(n, 2, device=device, dtype=dtype) * 2 - 1) * XINT_MAX
                whole_pixels = torch.round(shift * size) * 2 / size  # [-1, 1] spans 2 units
                step = _translate(whole_pixels * self._gate(n, device, p)[:, None])
            elif op == "scale":
                s = torch.exp2(torch.randn(n, device=device, dtype=dtype) * SCALE_STD)
                s = torch.where(self._gate(n, device, p), s, ones)
                step = _scale(s, s)
            elif op == "rotate":
                angle = (torch.rand(n, device=device, dtype=dtype) * 2 - 1) * math.pi * ROTATE_MAX
                step = _rotate(torch.where(self._gate(n, device, p_rotate), angle, zeros))
            elif op == "aniso":
                s = torch.exp2(torch.randn(n, device=device, dtype=dtype) * ANISO_STD)
                s = torch.where(self._gate(n, device, p), s, ones)
                step = _scale(s, 1 / s)
            else:  # xfrac
                shift = torch.randn(n, 2, device=device, dtype=dtype) * XFRAC_STD * 2  # [-1, 1] spans 2 units
                step = _translate(shift * self._gate(n, device, p)[:, None])
            matrix = matrix @ step
        return matrix

    def _colour_matrix(self, n, channels, device, dtype, p):
        """(N, 4, 4) acting on homogeneous RGB, or None."""
        ops = [op for op in self.ops if op in GROUPS["c"] and (channels > 1 or op not in RGB_ONLY)]
        if not ops:
            return None
        matrix = torch.eye(4, device=device, dtype=dtype).repeat(n, 1, 1)
        axis = LUMA_AXIS.to(device, dtype)
        luma = torch.outer(axis, axis)
        for op in ops:
            if op == "brightness":
                b = torch.randn(n, device=device, dtype=dtype) * BRIGHTNESS_STD * self._gate(n, device, p)
                step = torch.eye(4, device=device, dtype=dtype).repeat(n, 1, 1)
                step[:, :3, 3] = b[:, None]
            elif op == "contrast":
                c = torch.exp2(torch.randn(n, device=device, dtype=dtype) * CONTRAST_STD)
                c = torch.where(self._gate(n, device, p), c, 1.0)
                step = torch.diag_embed(torch.stack([c, c, c, torch.ones_like(c)], dim=1))
            elif op == "lumaflip":
                flip = torch.randint(2, (n,), device=device).to(dtype) * self._gate(n, device, p)
                step = torch.eye(4, device=device, dtype=dtype) - 2 * luma * flip[:, None, None]
            elif op == "hue":
                angle = (torch.rand(n, device=device, dtype=dtype) * 2 - 1) * math.pi * HUE_MAX
                step = _rotate_about(axis[:3], angle * self._gate(n, device, p))
            else:  # saturation
                s = torch.exp2(torch.randn(n, device=device, dtype=dtype) * SATURATION_STD)
                s = torch.where(self._gate(n, device, p), s, 1.0)
                step = luma + (torch.eye(4, device=device, dtype=dtype) - luma) * s[:, None, None]
                step[:, 3, 3] = 1
            matrix = step @ matrix
        return matrix

    def extra_repr(self) -> str:
        return f"ops={','.join(self.ops)}, p={self.p.item():g}"


def _scale(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    return torch.diag_embed(torch.stack([sx, sy, torch.ones_like(sx)], dim=1))


def _translate(t: torch.Tensor) -> torch.Tensor:
    matrix = torch.eye(3, device=t.device, dtype=t.dtype).repeat(t.shape[0], 1, 1)
    matrix[:, :2, 2] = t
    return matrix


def _rotate(angle: torch.Tensor) -> torch.Tensor:
    cos, sin = torch.cos(angle), torch.sin(angle)
    matrix = torch.eye(3, device=angle.device, dtype=angle.dtype).repeat(angle.shape[0], 1, 1)
    matrix[:, 0, 0], matrix[:, 0, 1], matrix[:, 1, 0], matrix[:, 1, 1] = cos, -sin, sin, cos
    return matrix


def _rotate_about(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """(N, 4, 4) rotation of RGB by `angle` about the unit `axis` (Rodrigues' formula)."""
    x, y, z = axis
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    outer = torch.outer(axis, axis)
    cross = torch.stack([torch.stack([0 * x, -z, y]), torch.stack([z, 0 * x, -x]), torch.stack([-y, x, 0 * x])])
    rotation = cos * torch.eye(3, device=axis.device, dtype=axis.dtype) + sin * cross + (1 - cos) * outer
    matrix = torch.eye(4, device=axis.device, dtype=axis.dtype).repeat(angle.shape[0], 1, 1)
    matrix[:, :3, :3] = rotation
    return matrix
