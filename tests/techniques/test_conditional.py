"""Class-conditional training (issue 25): every technique takes conditional steps through a real Trainer on
batches (images, labels); labels follow the critic step's pairs and the label distribution; penalties differentiate
w.r.t. the images; the data's classes must be the model's."""

import pytest
import pytorch_lightning as pl
import torch
from conftest import one_line_config_error
from test_fused_critic import critic_step, without_dropout
from torch.utils.data import DataLoader, IterableDataset

from lightning_gans import R1GAN, SNGAN, WGAN, WGANGP, StyleGANADA, Toy2DDataModule
from lightning_gans.objectives.penalties import r1_penalty
from lightning_gans.techniques.base import GANTechnique

# One generator step per training run.
IMAGES = {"data_shape": (1, 8, 8), "architecture": "cnn", "latent_dim": 8, "width": 4, "num_classes": 3,
          "max_g_steps": 1}
TOY = {"data_shape": (2,), "architecture": "mlp", "latent_dim": 2, "width": 16, "num_classes": 3, "max_g_steps": 1}
STYLEGAN = {"data_shape": (1, 8, 8), "latent_dim": 8, "width": 8, "mbstd_group_size": 4, "num_classes": 3,
            "max_g_steps": 1,
            "regularization_interval": 1, "augment_p": 0.5, "ada_interval": 1, "ada_kimg": 1}
TECHNIQUES = {
    "wgan": lambda: WGAN(**IMAGES, critic_burst=False, n_critic=2, clip_before_critic_step=False),
    "wgan_gp": lambda: WGANGP(**IMAGES, n_critic=2),
    "wgan_gp consistency, mlp": lambda: WGANGP(**TOY, critic_dropout=0.5, consistency_weight=2.0, n_critic=1),
    "sngan": lambda: SNGAN(**IMAGES),
    "sngan resnet": lambda: SNGAN(**{**IMAGES, "architecture": "resnet"}, n_critic=1),
    "r1gan": lambda: R1GAN(**IMAGES, r2_gamma=1.0),
    "stylegan_ada": lambda: StyleGANADA(**STYLEGAN),
}


class LabelledBatches(IterableDataset):
    """An endless stream of (images, labels) batches of random data: each class k a constant shift of the noise."""

    def __init__(self, data_shape, num_classes, batch_size=8):
        self.data_shape, self.num_classes, self.batch_size = data_shape, num_classes, batch_size

    def __iter__(self):
        generator = torch.Generator().manual_seed(0)
        while True:
            labels = torch.randint(self.num_classes, (self.batch_size,), generator=generator)
            noise = torch.randn(self.batch_size, *self.data_shape, generator=generator)
            yield (0.3 * noise + labels.view(-1, *[1] * len(self.data_shape)) / self.num_classes).clamp(-1, 1), labels


class LabelledData(pl.LightningDataModule):
    """The conditional data module interface (issue 25) at its smallest: num_classes, label_distribution(), seek()
    and a stream of (images, labels)."""

    def __init__(self, data_shape, num_classes=3, distribution=None):
        super().__init__()
        self.data_shape, self.num_classes = tuple(data_shape), num_classes
        self.class_names = [f"class {k}" for k in range(num_classes)] if num_classes else None
        self.distribution = distribution

    def label_distribution(self):
        return torch.full((self.num_classes,), 1 / self.num_classes) if self.distribution is None else self.distribution

    def seek(self, images_seen):
        pass

    def train_dataloader(self):
        return DataLoader(LabelledBatches(self.data_shape, self.num_classes), batch_size=None)


def train(model, datamodule):
    pl.seed_everything(0, verbose=False)
    trainer = pl.Trainer(accelerator="cpu", devices=1, max_epochs=-1, logger=False, enable_checkpointing=False,
                         enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, datamodule)
    return trainer


@pytest.mark.parametrize("case", list(TECHNIQUES))
def test_each_technique_takes_a_conditional_step_through_a_trainer(case):
    torch.manual_seed(0)
    model = TECHNIQUES[case]()
    model.hparams.diagnostics_every = 1  # the diagnostics with labels too
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    labels_seen = []
    critic_forward = type(model.critic).forward
    model.critic.forward = lambda x, labels=None: labels_seen.append(labels) or critic_forward(model.critic, x, labels)
    train(model, LabelledData(model.data_shape))
    assert model.progress.g_step == 1
    assert labels_seen and all(labels is not None and labels.dtype == torch.int64 for labels in labels_seen)
    for network in ("generator", "critic"):
        parameters = {name: p for name, p in model.named_parameters() if name.startswith(network + ".")}
        assert all(torch.isfinite(p).all() for p in parameters.values())
        assert any(not torch.equal(p, before[name]) for name, p in parameters.items()), network
    if case == "wgan":  # clipping (after each update here) covers the class embedding like every critic parameter
        assert model.critic.embed.weight.abs().max() <= model.hparams.clip_value
    if case == "stylegan_ada":
        assert model.critic.augment.p.item() != 0.5  # ADA moved p


def test_critic_step_gives_the_fakes_and_interpolates_the_real_batchs_labels_and_the_generator_step_draws_them():
    torch.manual_seed(0)
    model = WGANGP(**IMAGES, n_critic=1)
    calls = []
    generate, score = model.generate, model.score
    model.generate = lambda z, labels: calls.append(("G", labels)) or generate(z, labels)
    model.score = lambda x, labels, plain=True: calls.append(("D", len(x), labels)) or score(x, labels, plain)
    model.sample_labels = lambda n: torch.full((n,), 2)
    datamodule = LabelledData(model.data_shape)
    _, real_labels = next(iter(datamodule.train_dataloader()))
    train(model, datamodule)
    (_, g_critic_labels), (_, x_hat_size, x_hat_labels), (_, joint_size, joint_labels) = calls[:3]
    assert torch.equal(g_critic_labels, real_labels) and torch.equal(x_hat_labels, real_labels) and x_hat_size == 8
    assert joint_size == 16 and torch.equal(joint_labels, real_labels.repeat(2))  # the fused pass of real, fake
    assert [call[-1].tolist() for call in calls[3:]] == [[2] * 8, [2] * 8]  # G's step: drawn labels


@pytest.mark.parametrize("technique", [WGANGP, R1GAN])
def test_fused_and_separate_critic_passes_give_the_same_terms_with_labels(technique):
    torch.manual_seed(0)
    model = without_dropout(technique(**TOY, r2_gamma=1.0) if technique is R1GAN else technique(**TOY))
    model.critic = without_dropout(model.critic)
    real, fake = torch.randn(6, 2), torch.randn(6, 2)
    labels = torch.tensor([0, 1, 2, 2, 1, 0])
    original = model.critic_loss
    model.critic_loss = lambda real, fake: original(real, fake, labels)
    fused, fused_gradients, _ = critic_step(model, real, fake, fused=True)
    separate, separate_gradients, _ = critic_step(model, real, fake, fused=False)
    for key in fused:
        torch.testing.assert_close(fused[key], separate[key], rtol=1e-5, atol=1e-6, msg=key)
    for a, b in zip(fused_gradients, separate_gradients):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_r1_of_a_conditional_critic_is_the_r1_of_the_critic_with_each_label_fixed():
    torch.manual_seed(0)
    model = R1GAN(**TOY)
    real, labels = torch.randn(6, 2), torch.tensor([0, 1, 2, 2, 1, 0])
    terms = model.critic_loss(real, torch.randn(6, 2), labels)
    per_sample = [r1_penalty(lambda x, y=labels[i:i + 1]: model.critic(x, y), real[i:i + 1]) for i in range(6)]
    torch.testing.assert_close(terms["penalty/r1"], torch.stack(per_sample).mean())
    torch.testing.assert_close(terms["penalty/r1"], r1_penalty(model.critic, real, labels))


def test_ada_augments_the_images_and_hands_the_labels_over_unchanged():
    torch.manual_seed(0)
    model = StyleGANADA(**{**STYLEGAN, "augment_p": 1.0})
    seen = []
    model.critic.discriminator.register_forward_hook(lambda module, args, output: seen.append(args))
    x, labels = torch.randn(4, 1, 8, 8), torch.tensor([2, 0, 1, 2])
    model.critic(x, labels)
    assert not torch.equal(seen[0][0], x) and seen[0][1] is labels


def test_sample_labels_follow_the_label_distribution_on_the_modules_device():
    model = WGANGP(**{**TOY, "num_classes": 4})
    assert torch.equal(model.label_distribution, torch.full((4,), 0.25))  # uniform until the data sets it
    distribution = torch.tensor([0.1, 0.6, 0.05, 0.25])
    model.connect_data(LabelledData((2,), 4, distribution))
    torch.manual_seed(0)
    labels = model.sample_labels(20_000)
    assert labels.dtype == torch.int64 and labels.device == model.device
    frequencies = torch.bincount(labels, minlength=4) / 20_000
    assert (frequencies - distribution).abs().max() < 0.02
    assert WGANGP(**{**TOY, "num_classes": None}).sample_labels(5) is None


def test_sample_needs_the_labels_of_a_conditional_model():
    torch.manual_seed(0)
    model = SNGAN(**IMAGES)
    z = torch.randn(3, 8)
    assert model.sample(z, torch.tensor([0, 1, 2])).shape == (3, 1, 8, 8)
    with pytest.raises(ValueError, match="pass labels"):
        model.sample(z)
    assert StyleGANADA(**STYLEGAN).sample(z, torch.tensor([0, 1, 2]), truncation_psi=0.5).shape == (3, 1, 8, 8)


def test_a_conditional_model_on_unlabelled_data_is_a_one_line_error_naming_the_fix():
    message = one_line_config_error(lambda: WGANGP(**TOY).connect_data(Toy2DDataModule("grid25")))
    assert "conditional (3 classes) but the data has no labels" in message and "data.conditional true" in message


def test_a_checkpoint_of_other_classes_than_the_data_is_a_one_line_error_naming_both():
    message = one_line_config_error(lambda: WGANGP(**TOY).connect_data(LabelledData((2,), 5)))
    assert "model has 3 classes" in message and "data has 5" in message and "use data with 3 classes" in message
    message = one_line_config_error(lambda: WGANGP(**{**TOY, "num_classes": None}).connect_data(LabelledData((2,), 5)))
    assert "data has 5 classes but the model is unconditional" in message


def test_class_names_default_to_the_indices_and_must_name_every_class():
    assert WGANGP(**TOY).class_names == ["0", "1", "2"]
    assert WGANGP(**TOY, class_names=["a", "b", "c"]).hparams.class_names == ["a", "b", "c"]
    assert "model.class_names" in one_line_config_error(lambda: WGANGP(**TOY, class_names=["a"]))


def test_conditional_checkpoints_keep_classes_and_label_distribution_and_unconditional_ones_keep_their_keys(tmp_path):
    """(With the base technique: outside the CLI a subclass's hparams repeat the arguments it fixes.)"""
    torch.manual_seed(0)
    model = GANTechnique(**TOY, class_names=["a", "b", "c"])
    distribution = torch.tensor([0.5, 0.3, 0.2])
    trainer = train(model, LabelledData((2,), 3, distribution))
    trainer.save_checkpoint(tmp_path / "conditional.ckpt")
    loaded = GANTechnique.load_from_checkpoint(tmp_path / "conditional.ckpt")
    assert loaded.num_classes == 3 and loaded.class_names == ["a", "b", "c"]
    assert torch.equal(loaded.label_distribution, distribution)

    unconditional = GANTechnique(**{**TOY, "num_classes": None})
    assert not any("label" in key or "embed" in key for key in unconditional.state_dict())
    trainer = train(unconditional, Toy2DDataModule("grid25", num_samples=256, batch_size=8))
    trainer.save_checkpoint(tmp_path / "unconditional.ckpt")
    checkpoint = torch.load(tmp_path / "unconditional.ckpt", weights_only=False)
    checkpoint["hyper_parameters"].pop("num_classes")  # as a checkpoint from before issue 25
    checkpoint["hyper_parameters"].pop("class_names")
    torch.save(checkpoint, tmp_path / "old.ckpt")
    assert GANTechnique.load_from_checkpoint(tmp_path / "old.ckpt").num_classes is None
