"""The bench's presets, as data. A preset names the technique configs, the fit overrides that put them on one
dataset, budget and evaluation protocol, the metrics that rank them, and the protocol in words for results.md.

The words hold no number that the overrides set: `{key}` in `protocol_template` stands for the value the overrides
give `--key` (`{fid.num_samples:,}` formats it as a number, 10,000), and `{technique.key}` for that of one technique's
own overrides. Numbers that stay (5x5 Gaussians, the PacGAN rule's 20 of 2,500) are the datasets' and the references'.
"""

import re
from dataclasses import dataclass, field

# (metric name as `metrics.keys.MetricKey` parses it, "min" or "max"); the first ranks the table, each next one breaks
# its ties. Image metrics' keys carry their protocol (fid/<extractor>_<N>_<split>): a name matches them all.
MetricSpec = tuple[str, str]


@dataclass(frozen=True)
class Preset:
    configs: str  # glob under experiments/: a new technique's config joins the bench by being there
    overrides: tuple[str, ...]  # fit overrides (pairs) that put every config on the same data, budget and protocol
    protocol_template: str  # the protocol in words, for results.md (placeholders: see the module's docstring)
    metrics: tuple[MetricSpec, ...]
    # (name, fit overrides) of each variant of every config, e.g. one technique with and without augmentation;
    # runs are named <technique>-<variant>. Empty: one run per config.
    variants: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # technique -> fit overrides of that technique's runs only (after `overrides`): its reference code's setting
    # where it has options the others lack
    technique_overrides: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # (technique, name, fit overrides) of each row beside the others: one more run of that technique's config, named
    # <technique>-<name>, with these overrides after its own, e.g. an unconditional reference row
    extra_rows: tuple[tuple[str, str, tuple[str, ...]], ...] = ()

    @property
    def protocol(self) -> str:
        """The protocol in words, its numbers filled in from the overrides."""
        values = override_values(self.overrides)
        for technique, overrides in self.technique_overrides.items():
            values.update({f"{technique}.{key}": value for key, value in override_values(overrides).items()})
        return fill_in(self.protocol_template, values)

    @property
    def is_image_preset(self) -> bool:
        return any(name == "fid" for name, _ in self.metrics)


def override_values(overrides: tuple[str, ...]) -> dict[str, str]:
    """`("--model.width", "32", ...)` -> {"model.width": "32", ...}."""
    return {key.removeprefix("--"): value for key, value in zip(overrides[::2], overrides[1::2])}


PLACEHOLDER = re.compile(r"\{([\w.]+)(?::([^}]*))?\}")


def fill_in(template: str, values: dict[str, str]) -> str:
    """`template` with each `{key}` or `{key:spec}` replaced by its value (formatted as a number by `spec`)."""
    def value(match: re.Match) -> str:
        text, spec = values[match.group(1)], match.group(2)
        return format(float(text) if "." in text or "e" in text else int(text), spec) if spec else text

    return PLACEHOLDER.sub(value, template)


TOY_METRICS = (("toy/modes_covered", "max"), ("toy/high_quality", "max"), ("toy/reverse_kl", "min"),
               ("toy/modes_any", "max"), ("toy/frechet_xy", "min"))
# Coverage first: frechet_xy compares means and covariances only, so a spread that misses modes can score well.
FID_METRICS = (("fid", "min"), ("kid", "min"), ("precision", "max"), ("recall", "max"))
CLASSIFIER_METRICS = (*FID_METRICS, ("classes/covered", "max"))  # a domain classifier also counts the classes drawn

# The toy configs' shared settings are theirs (experiments/toy/*.yaml; the sweep behind them: benchmarks/toy_sweep.md).
TOY_EVALUATION = ("--toy_metrics.every_n_g_steps", "100", "--toy_metrics.num_samples", "2500",
                  "--samples.num_samples", "2500", "--trainer.log_every_n_steps", "50")
TOY_PROTOCOL = (
    "the toy configs' MLPs, batch and learning-rate decay, {model.max_g_steps} G steps each (each technique's own "
    "n_critic, optimiser and penalty weight); every {toy_metrics.every_n_g_steps} G steps {toy_metrics.num_samples:,} "
    "EMA-generator samples, each assigned to its nearest mode and high quality within 3 std of it (VEEGAN/PacGAN "
    "protocol): a mode is covered at >= 20 high-quality samples of 2,500 (PacGAN, Lin et al. 2018; toy/modes_any counts "
    ">= 1 as VEEGAN, Srivastava et al. 2017), reverse KL is KL(high-quality histogram || uniform), inf without a "
    "high-quality sample; toy/frechet_xy is the Frechet distance to {toy_metrics.num_samples:,} real points on raw "
    "(x, y) coordinates (no feature network)"
)

FMNIST_CPU = ("--model.width", "32", "--data.batch_size", "64", "--model.max_g_steps", "null", "--model.max_kimg", "64",
              "--trainer.accelerator", "cpu", "--trainer.devices", "1", "--fid.extractor", "lenet-fmnist",
              "--fid.num_samples", "2000", "--fid.every_n_g_steps", "100", "--samples.every_n_g_steps", "250",
              "--checkpoint.every_n_g_steps", "250")
FMNIST_CPU_PROTOCOL = (
    "Fashion-MNIST 32x32, CNN width {model.width}, batch {data.batch_size}, {model.max_kimg} kimg each (the same "
    "real images for every technique, so a technique at n_critic 5 takes a fifth of the G steps of one at n_critic "
    "1; each technique's own n_critic and optimiser; WGAN without its reference code's 100-critic-step bursts, "
    "which would spend the budget in its first G steps); every {fid.every_n_g_steps} G steps and at the end "
    "FID/KID/precision/recall of {fid.num_samples:,} EMA-generator samples in the features of the {fid.extractor} "
    "domain classifier against {fid.num_samples:,} training images"
)
FMNIST_CPU_TECHNIQUES = {"wgan": ("--model.critic_burst", "false")}

PRESETS = {
    "toy": Preset(
        "toy/*.yaml",
        ("--data.distribution", "grid25", "--model.max_g_steps", "4000", *TOY_EVALUATION),
        "{data.distribution} (5x5 Gaussians, spacing 2, std 0.05), " + TOY_PROTOCOL,
        TOY_METRICS,
    ),
    "toy-ring": Preset(
        "toy/*.yaml",
        ("--data.distribution", "ring8", "--model.max_g_steps", "1000", *TOY_EVALUATION),
        "{data.distribution} (8 Gaussians on a circle of radius 2, std 0.02), " + TOY_PROTOCOL,
        TOY_METRICS,
    ),
    "fmnist-cpu": Preset("*.yaml", FMNIST_CPU, FMNIST_CPU_PROTOCOL, CLASSIFIER_METRICS,
                         technique_overrides=FMNIST_CPU_TECHNIQUES),
    "fmnist-cond": Preset(
        "*.yaml",
        (*FMNIST_CPU, "--data.conditional", "true"),
        "class-conditional (data.conditional {data.conditional}: cBN generators, projection critics, StyleGAN's label "
        "embedding), otherwise as fmnist-cpu: " + FMNIST_CPU_PROTOCOL + "; samples with labels stratified over the "
        "training labels' frequencies; also the intra-class FID (mean over the classes of the FID of a class's samples "
        "against that class's training images) and the {fid.extractor} classifier's accuracy on the samples' labels "
        "(not ranked); sngan-uncond: unconditional SN-GAN at the same budget, the reference row",
        CLASSIFIER_METRICS,
        technique_overrides=FMNIST_CPU_TECHNIQUES,
        extra_rows=(("sngan", "uncond", ("--data.conditional", "false")),),
    ),
    "fmnist-2k": Preset(
        "stylegan_ada.yaml",
        ("--model.max_g_steps", "null", "--model.max_kimg", "2000", "--model.ada_kimg", "100",
         "--fid.extractor", "lenet-fmnist", "--fid.num_samples", "10000", "--fid.every_n_g_steps", "2500",
         "--samples.every_n_g_steps", "2500", "--checkpoint.every_n_g_steps", "2500"),
        "ADA's data-efficiency experiment (Karras et al. 2020, fig. 1) at Fashion-MNIST 32x32: StyleGANADA as in "
        "experiments/stylegan_ada.yaml, {model.max_kimg:,} kimg each, p moving 0 -> 1 in {model.ada_kimg} kimg at "
        "most; 2k-noaug: a seeded 2,000-image slice, no augmentation (p = 0, r_t still measured); 2k-ada: the slice "
        "with ADA (r_t target 0.6); full-ada: all 60,000 images with ADA. Every {fid.every_n_g_steps:,} G steps "
        "FID/KID/precision/recall of {fid.num_samples:,} EMA-generator samples in {fid.extractor} features against "
        "{fid.num_samples:,} images of the full training split. Expected from the paper: without augmentation D "
        "overfits the slice (r_t rises toward 1) and FID rises after an early minimum; ADA keeps r_t near 0.6 and the "
        "slice's FID closer to the full data's",
        CLASSIFIER_METRICS,
        variants=(("2k-noaug", ("--data.limit", "2000", "--model.ada_heuristic", "fixed", "--model.augment_p", "0")),
                  ("2k-ada", ("--data.limit", "2000")),
                  ("full-ada", ())),
    ),
    "cifar10": Preset(
        "*.yaml",
        ("--data.dataset", "cifar10", "--model.max_g_steps", "100000", "--model.max_kimg", "null",
         "--fid.extractor", "inception", "--fid.num_samples", "50000", "--fid.reference_split", "train",
         "--fid.every_n_g_steps", "5000"),
        "CIFAR-10 32x32, {model.max_g_steps:,} G steps each, the reference codes' settings where this suite has them "
        "(README, 'Presets against their reference code'): SN-GAN and WGAN-GP as ResNets with n_critic "
        "{sngan.model.n_critic}, a generator batch of {sngan.model.g_batch_multiple} x the batch, separate real and "
        "fake D passes and learning rates decayed linearly to 0 (SN-GAN: {sngan.model.max_g_steps:,} G steps, as "
        "sn_cifar10_unconditional.yml); StyleGANADA as ADA's cifar preset (D '{stylegan_ada.model.d_architecture}', z "
        "and w {stylegan_ada.model.latent_dim}, width {stylegan_ada.model.width}, its config's EMA, lazy R1 in its own "
        "step); every {fid.every_n_g_steps:,} G steps FID/KID of {fid.num_samples:,} EMA-generator samples in "
        "Inception-v3 pool features against {fid.num_samples:,} images of the {fid.reference_split} split "
        "(fid50k_train)",
        FID_METRICS,
        technique_overrides={
            "sngan": ("--model.architecture", "resnet", "--model.n_critic", "5", "--model.g_batch_multiple", "2",
                      "--model.fused_critic", "false", "--model.lr_schedule", "linear", "--model.max_g_steps", "50000"),
            "wgan_gp": ("--model.architecture", "resnet", "--model.width", "128", "--model.g_batch_multiple", "2",
                        "--model.fused_critic", "false", "--model.lr_g", "2e-4", "--model.lr_d", "2e-4",
                        "--model.lr_schedule", "linear"),
            "wgan": ("--model.latent_dim", "100"),
            "r1gan": ("--model.latent_dim", "256"),
            "stylegan_ada": ("--model.d_architecture", "orig", "--model.latent_dim", "512", "--model.width", "512"),
        },
    ),
}
