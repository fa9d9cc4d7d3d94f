"""The training loop every technique shares: `n_critic` critic steps, then one generator step.

A technique subclass reads as its paper's algorithm box: it sets its loss and optimiser defaults and
extends `critic_loss` with its regularisers (and `after_critic_step` where the paper acts on the weights).
Everything else lives here once: optimisers (separate G and D learning rates, i.e. TTUR; Adam's correction for
lazy regularisation phases of their own), the EMA of G (half-life in kimg, `training.ema`), the budget in
generator steps and kimg, step logging, and the state a bit-exact resume needs.

Batches come from an infinite stream positioned by `images_seen` (see `data.stream.InfiniteBatchStream`;
`on_fit_start` hands the position over), so one `training_step` is one critic step on one real batch.
"""

import copy
import time
from typing import Optional

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn
from torch.optim.lr_scheduler import LambdaLR

from lightning_gans.errors import TrainingDiverged, require
from lightning_gans.nets import build_networks
from lightning_gans.objectives.losses import build_loss
from lightning_gans.objectives.penalties import critic_gradient_norm, random_interpolates
from lightning_gans.training import ddp
from lightning_gans.training.diagnostics import layer_singular_values, learning_rates
from lightning_gans.training.ema import ema_beta, update_ema
from lightning_gans.training.stats import StatsWindow

PROGRESS_BAR_KEYS = ("loss/d", "loss/g")
OPTIMIZERS = {"adam": torch.optim.Adam, "rmsprop": torch.optim.RMSprop}
# Devices where Adam takes its fused kernel (all parameters in one kernel): on the CPU PyTorch otherwise loops over
# the parameters, several times slower (`benchmarks/throughput.py --adam`).
FUSED_ADAM_DEVICES = ("cpu", "cuda")
LR_SCHEDULES = ("constant", "linear")


def lr_factor(g_step: int, schedule: str, max_g_steps: Optional[int]) -> float:
    """Learning rate of the updates after `g_step` generator updates, as a fraction of the configured one:
    1 (constant), or 1 - g_step / max_g_steps (linear: decays to 0 over the budget)."""
    return 1.0 if schedule == "constant" else max(0.0, 1.0 - g_step / max_g_steps)


class GANTechnique(pl.LightningModule):
    """Base class of every technique; `name` is the run-directory name under `runs/` (and its key in
    `techniques.TECHNIQUES`)."""

    name = "gan"

    def __init__(
        self,
        data_shape: tuple[int, ...] = (1, 32, 32),
        architecture: str = "cnn",
        width: Optional[int] = None,
        depth: Optional[int] = None,
        latent_dim: int = 128,
        loss: str = "hinge",
        label_smoothing: float = 0.0,
        optimizer: str = "adam",
        lr_g: float = 2e-4,
        lr_d: float = 2e-4,
        betas: tuple[float, float] = (0.0, 0.9),
        lr_schedule: str = "constant",
        n_critic: int = 1,
        ema_kimg: float = 10.0,
        ema_rampup: Optional[float] = 0.05,
        max_g_steps: Optional[int] = None,
        max_kimg: Optional[float] = None,
        spectral_norm: bool = False,
        n_power_iterations: int = 1,
        critic_dropout: float = 0.0,
        fused_critic: bool = True,
        g_batch_multiple: int = 1,
        channels_last: bool = False,
        diagnostics_every: int = 50,
        max_nonfinite_skips: int = 0,
    ):
        """
        Args:
            data_shape: shape of one sample, (C, H, W) or (2,); the CLI links it from the data module.
            architecture: network family from `networks.ARCHITECTURES` (cnn, resnet, mlp).
            width: base channel count (MLP: hidden units); None takes the paper's value.
            depth: hidden layers of the MLP (None: the paper's 3); image architectures have a fixed depth.
            optimizer: adam or rmsprop; `betas` apply to adam only.
            lr_g, lr_d: generator and critic learning rates (unequal values give TTUR, Heusel et al. 2017).
            lr_schedule: constant, or linear: both learning rates decay linearly to 0 over max_g_steps (`lr_factor`),
                stepped once per generator update.
            n_critic: critic updates per generator update.
            ema_kimg: half-life, in thousands of real images shown to D, of the exponential moving average of G
                used for samples and evaluation (StyleGAN2-ADA's ema_kimg; `training.ema.ema_beta`).
            ema_rampup: EMA warm-up: the half-life is at most this fraction of the images seen so far
                (StyleGAN2-ADA: 0.05); null: ema_kimg from the first step.
            max_g_steps, max_kimg: training budget in generator steps and in thousands of real images
                shown to D (summed over processes); training stops at whichever comes first.
            fused_critic: D scores a critic step's real and fake batch (all but its penalty points) in one forward
                pass of their concatenation (`critic_scores`); False: one pass per batch, as the reference codes
                do (spectral norm then runs one power iteration per batch, and normalises each with its own sigma).
            g_batch_multiple: the generator step draws this many times the batch of latents (sngan_projection's
                and improved_wgan_training's ResNet CIFAR settings: 2).
            diagnostics_every: every this many G steps, log D's input-gradient norm at real, fake and
                interpolated points and the largest singular value of each D layer.
            max_nonfinite_skips: a non-finite loss or penalty stops training (TrainingDiverged) unless this
                many updates have not yet been skipped for that reason; 0 stops at the first.
        """
        super().__init__()
        require(n_critic >= 1, "model.n_critic", n_critic, "use an integer >= 1")
        for key, lr in (("model.lr_g", lr_g), ("model.lr_d", lr_d)):
            require(lr > 0, key, lr, "learning rates must be > 0")
        require(all(0 <= b < 1 for b in betas), "model.betas", betas, "each beta must be in [0, 1)")
        require(ema_kimg > 0, "model.ema_kimg", ema_kimg, "use a half-life > 0 in kimg (StyleGAN2-ADA: 10; cifar: 500)")
        require(ema_rampup is None or ema_rampup > 0, "model.ema_rampup", ema_rampup,
                "use a fraction > 0 (StyleGAN2-ADA: 0.05), or null for the fixed ema_kimg")
        require(g_batch_multiple >= 1, "model.g_batch_multiple", g_batch_multiple, "use an integer >= 1 (reference: 2)")
        require(lr_schedule in LR_SCHEDULES, "model.lr_schedule", lr_schedule, f"choose one of {list(LR_SCHEDULES)}")
        require(lr_schedule == "constant" or max_g_steps is not None, "model.lr_schedule", lr_schedule,
                "a decay needs model.max_g_steps, the step where it reaches 0")
        require(optimizer in OPTIMIZERS, "model.optimizer", optimizer, f"choose one of {sorted(OPTIMIZERS)}")
        require(max_g_steps is None or max_g_steps >= 1, "model.max_g_steps", max_g_steps, "use >= 1 or null")
        require(max_kimg is None or max_kimg > 0, "model.max_kimg", max_kimg, "use > 0 or null")
        require(max_nonfinite_skips >= 0, "model.max_nonfinite_skips", max_nonfinite_skips, "use an integer >= 0")
        require(diagnostics_every >= 1, "model.diagnostics_every", diagnostics_every, "use an integer >= 1")
        self.save_hyperparameters()
        # Under LightningCLI the saved values are the config's; keep what a subclass resolved (SNGAN's n_critic).
        self.hparams.n_critic = n_critic
        self.automatic_optimization = False
        self.fused_critic = fused_critic

        self.generator, self.critic = self.build_networks(
            architecture, tuple(data_shape), latent_dim, width=width, depth=depth, spectral_norm=spectral_norm,
            n_power_iterations=n_power_iterations, critic_dropout=critic_dropout,
        )
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.adversarial = build_loss(loss, **({"label_smoothing": label_smoothing} if label_smoothing else {}))
        if channels_last:
            self.to(memory_format=torch.channels_last)

        # Progress counters, saved with the checkpoint; images_seen also positions the data stream.
        self.d_step = 0
        self.g_step = 0
        self.round_critic_steps = 0  # critic steps since the last generator step
        self.images_seen = 0
        self.nonfinite_skips = 0
        self.stats = StatsWindow()
        self._window_start: Optional[tuple[float, int]] = None  # (time, images_seen) when the window opened
        self.wall_time_before = 0.0  # training seconds of this run's earlier sessions (before a resume)
        self._session_start: Optional[float] = None

    def build_networks(self, architecture: str, data_shape: tuple, latent_dim: int, **options):
        """(generator, critic), by default `networks.build_networks`; a technique with its own networks overrides
        it (the arguments are the values the subclass resolved, which under LightningCLI hparams may not hold)."""
        return build_networks(architecture, data_shape, latent_dim, **options)

    # ----------------------------------------------------------------------------------------- the loop
    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """Terms of the critic objective; `loss/d` is the total that is minimised. Techniques extend it."""
        return self.adversarial_terms(*self.critic_scores(real, fake))

    def critic_scores(self, *batches: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """D's scores of each batch. Penalty points (the batches that require grad) get a forward pass of their own:
        the penalty's double backward then runs over them alone, where over the whole concatenation it would cost
        WGAN-GP 0.59x and R1 0.90x of one pass per batch (`benchmarks/throughput.py --separate`); under autocast that
        pass runs in float32, so penalties keep float32 accuracy (as `penalties._input_gradients` does). The other
        batches, with `fused_critic`, share one forward pass of their concatenation: spectral norm's power iteration
        then advances once per pass instead of once per batch, and dropout draws one mask over the pass."""
        device = batches[0].device.type
        autocast = torch.is_autocast_enabled(device)
        scores = {}
        for i, batch in enumerate(batches):
            if batch.requires_grad:
                with torch.autocast(device, enabled=False):
                    scores[i] = self.critic(batch.float() if autocast else batch)
        others = [i for i in range(len(batches)) if i not in scores]
        if self.fused_critic and len(others) > 1:
            joint = self.critic(torch.cat([batches[i] for i in others])).split([len(batches[i]) for i in others])
            scores.update(zip(others, joint))
        else:
            scores.update((i, self.critic(batches[i])) for i in others)
        return tuple(scores[i] for i in range(len(batches)))

    def adversarial_terms(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
        """`loss/d` of the adversarial loss on D's scores (and `critic/wasserstein` where it estimates one)."""
        self.on_critic_scores(real_scores, fake_scores)
        terms = {"loss/d": self.adversarial.discriminator(real_scores, fake_scores)}
        if self.adversarial.estimates_wasserstein:
            terms["critic/wasserstein"] = (real_scores.float().mean() - fake_scores.float().mean()).detach()
        return terms

    def generator_loss(self, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss/g": self.adversarial.generator(self.critic(fake))}

    def on_critic_scores(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> None:
        """Called with D's raw scores of each critic step's real and fake batch (ADA measures overfitting here)."""

    def before_critic_step(self) -> None:
        """Called before each critic step (WGAN clips the weights here, as its reference code does)."""

    def after_critic_step(self) -> None:
        """Called after each critic update (ADA moves p here)."""

    def critic_regularization(self, real: torch.Tensor, fake: torch.Tensor) -> Optional[dict[str, torch.Tensor]]:
        """StyleGAN2's Dreg phase: the terms of a regularisation step of D's own after the main critic step, its
        loss `loss/d_reg`, or None when none is due (the default: penalties live in `critic_loss`)."""
        return None

    def lazy_regularization_intervals(self) -> dict[str, Optional[int]]:
        """{'g': k, 'd': k} for a network regularised in a step of its own every k steps (StyleGAN2's Greg, Dreg),
        None otherwise: `configure_optimizers` corrects that network's Adam for the extra steps."""
        return {"g": None, "d": None}

    def n_critic_at(self, g_step: int) -> int:
        """Critic steps before generator step `g_step` + 1; `n_critic` unless the technique schedules it."""
        return self.hparams.n_critic

    def training_step(self, real: torch.Tensor, batch_idx: int) -> None:
        opt_g, opt_d = self.optimizers()
        real = self._memory_format(real)
        batch_size = real.shape[0]

        self.before_critic_step()
        with self.toggled_optimizer(opt_d):
            with torch.no_grad():
                fake = self.generator(self.sample_latents(batch_size))
            terms = self.critic_loss(real, fake)
            self.update(opt_d, terms, "loss/d", "critic")
            regularization = self.critic_regularization(real, fake)
            if regularization is not None:
                self.update(opt_d, regularization, "loss/d_reg", "critic")
                terms.update(regularization)
        self.after_critic_step()
        self.d_step += 1
        self.round_critic_steps += 1
        self.images_seen += batch_size * self.trainer.world_size

        self.stats.record(terms)
        if self.round_critic_steps < self.n_critic_at(self.g_step):
            return
        with self.toggled_optimizer(opt_g):
            g_terms = self.generator_loss(self.generator(self.sample_latents(batch_size * self.hparams.g_batch_multiple)))
            self.update(opt_g, g_terms, "loss/g", "generator")
        self.update_ema(self.round_critic_steps * batch_size * self.trainer.world_size)
        self.g_step += 1
        self.round_critic_steps = 0
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()
        self.stats.record(g_terms)
        if self.g_step % self.hparams.diagnostics_every == 0:
            self.stats.record(self.critic_diagnostics(real, fake))
        self.report({**terms, **g_terms})
        if self.budget_reached():
            self.trainer.should_stop = True

    def update(self, optimizer, terms: dict[str, torch.Tensor], loss: str, phase: str) -> None:
        """One optimiser step on `terms[loss]`, unless the divergence guard skips it."""
        if self.all_finite(terms, phase):
            optimizer.zero_grad(set_to_none=True)
            self.manual_backward(terms[loss])
            optimizer.step()

    # --------------------------------------------------------------------------------------- mechanics
    def all_finite(self, terms: dict[str, torch.Tensor], phase: str) -> bool:
        """The divergence guard, before an update: True when every term is finite on every rank. Otherwise the
        update is skipped while `max_nonfinite_skips` allows, else training stops with TrainingDiverged (every
        rank together), so no checkpoint ever holds the broken state."""
        finite = torch.stack([torch.isfinite(value.detach()).all() for value in terms.values()]).tolist()  # one sync
        names = [key for key, ok in zip(terms, finite) if not ok]
        if not self.trainer.strategy.reduce_boolean_decision(bool(names), all=False):
            return True
        self.nonfinite_skips += 1
        where = f"{phase} step {self.d_step if phase == 'critic' else self.g_step} (generator step {self.g_step})"
        what = ", ".join(names) or "a term on another process"
        if self.nonfinite_skips <= self.hparams.max_nonfinite_skips:
            rank_zero_warn(f"{what} not finite at {where}: update skipped ({self.nonfinite_skips} so far)")
            return False
        raise TrainingDiverged(
            f"{what} not finite at {where}: training stopped and the last good checkpoint kept; lower the "
            "learning rates, or allow skips with model.max_nonfinite_skips"
        )

    def backward(self, loss: torch.Tensor, *args, **kwargs) -> None:
        """`manual_backward` runs here, inside training_step's autocast under bf16-mixed; the backward runs with
        autocast off (PyTorch's advice), so the backward of a float32 pass, a penalty's critic pass
        (`penalties._input_gradients`), stays float32."""
        with torch.autocast(self.device.type, enabled=False):
            super().backward(loss, *args, **kwargs)

    def sample_latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.hparams.latent_dim, device=self.device)

    def update_ema(self, images: int) -> None:
        """The EMA generator's update after a generator step whose critic steps showed D `images` real images
        (`training.ema`: half-life ema_kimg, ramped up over the images seen before them)."""
        beta = ema_beta(images, self.images_seen - images, self.hparams.ema_kimg, self.hparams.ema_rampup)
        update_ema(self.generator_ema, self.generator, beta)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, ema: bool = True, **generator_kwargs) -> torch.Tensor:
        """Images (or points) for latent codes `z`, from the EMA generator by default, in eval mode."""
        generator = self.generator_ema if ema else self.generator
        was_training = generator.training
        generator.eval()
        out = generator(z.to(self.device), **generator_kwargs)
        generator.train(was_training)
        return out

    def critic_diagnostics(self, real: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """D's input-gradient norm at real, fake and interpolated points (the empirical Lipschitz signal) and the
        largest singular value of each layer, `critic/sigma_max/<layer>` (`diagnostics.layer_singular_values`).

        Measured in eval mode, so it neither advances spectral norm's power iteration nor draws dropout masks."""
        self.critic.eval()
        norms = {
            f"critic/grad_norm_{name}": critic_gradient_norm(self.critic, points).mean()
            for name, points in (("real", real), ("fake", fake), ("interp", random_interpolates(real, fake)))
        }
        self.critic.train()
        sigmas = {f"critic/sigma_max/{name}": value for name, value in layer_singular_values(self.critic).items()}
        return {**norms, **sigmas}

    def budget_reached(self) -> bool:
        max_g_steps, max_kimg = self.hparams.max_g_steps, self.hparams.max_kimg
        return (max_g_steps is not None and self.g_step >= max_g_steps) or (
            max_kimg is not None and self.images_seen >= max_kimg * 1000
        )

    def report(self, terms: dict[str, torch.Tensor]) -> None:
        """The losses to the progress bar every step (`training.progress` shows the counters and img/s); loggers every
        `trainer.log_every_n_steps` generator steps, with the window's means (`StatsWindow`), the counters, img/s and
        the learning rates (`lr/g`, `lr/d`), at step = g_step."""
        self.log_dict({key: terms[key] for key in PROGRESS_BAR_KEYS}, prog_bar=True, logger=False)
        now = time.perf_counter()
        if self._window_start is None:
            self._window_start = (now, self.images_seen)
        if self.g_step % self.trainer.log_every_n_steps and not self.budget_reached():
            return
        metrics = self.stats.flush(lambda t: self.trainer.strategy.reduce(t, reduce_op="mean"))
        start_time, start_images = self._window_start
        metrics.update({"progress/g_step": self.g_step, "progress/kimg": self.images_seen / 1000,
                        "perf/img_per_s": (self.images_seen - start_images) / max(now - start_time, 1e-9)})
        metrics.update(learning_rates(dict(zip(("g", "d"), self.optimizers()))))
        metrics["progress/wall_time_s"] = self.wall_time()
        self._window_start = (now, self.images_seen)
        for logger in self.loggers:
            logger.log_metrics(metrics, step=self.g_step)

    def wall_time(self) -> float:
        """Seconds of training of this run, evaluation included, summed over resumes."""
        now = time.perf_counter()
        return self.wall_time_before + now - (now if self._session_start is None else self._session_start)

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.hparams.channels_last and x.ndim == 4 else x

    # ------------------------------------------------------------------------------------ Lightning hooks
    def configure_optimizers(self):
        hp = self.hparams
        optimizer_class = OPTIMIZERS[hp.optimizer]
        kwargs = {"fused": True} if hp.optimizer == "adam" and self.device.type in FUSED_ADAM_DEVICES else {}
        intervals = self.lazy_regularization_intervals()
        optimizers = []
        for network, module, lr in (("g", self.generator, hp.lr_g), ("d", self.critic, hp.lr_d)):
            # StyleGAN2's correction for a network with a regularisation step of its own every k steps: Adam then
            # takes k + 1 steps where it would take k, so lr * k/(k+1) and betas ** (k/(k+1)).
            ratio = 1.0 if intervals[network] is None else intervals[network] / (intervals[network] + 1)
            betas = {"betas": tuple(beta ** ratio for beta in hp.betas)} if hp.optimizer == "adam" else {}
            optimizers.append(optimizer_class(module.parameters(), lr=lr * ratio, **betas, **kwargs))
        if hp.lr_schedule == "constant":
            return optimizers
        # Both step once per G step, so their step count is g_step; Lightning keeps their state in checkpoints.
        schedulers = [LambdaLR(optimizer, lambda g_step: lr_factor(g_step, hp.lr_schedule, hp.max_g_steps))
                      for optimizer in optimizers]
        return optimizers, schedulers

    def on_fit_start(self) -> None:
        # The data stream continues where this run's counter stands (a resumed checkpoint has set it by now).
        self.trainer.datamodule.seek(self.images_seen)

    def on_train_start(self) -> None:
        self._session_start = time.perf_counter()

    def connect_data(self, datamodule) -> None:
        """Take from `datamodule` what the technique needs besides the training stream, or raise a ConfigError if
        it cannot serve this technique. `setup` calls it on every process; the CLI once more before the run
        directory exists, so that bad data leaves nothing behind."""

    def setup(self, stage: str) -> None:
        self.connect_data(self.trainer.datamodule)
        ddp.allow_partial_backward(self.trainer)

    def teardown(self, stage: str) -> None:
        ddp.release_process_group(self.trainer)

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["lightning_gans"] = {
            "d_step": self.d_step,
            "g_step": self.g_step,
            "round_critic_steps": self.round_critic_steps,
            "images_seen": self.images_seen,
            "nonfinite_skips": self.nonfinite_skips,
            "wall_time_s": self.wall_time(),
            "rng": ddp.gather_rng_states(),
        }

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint["lightning_gans"]
        self.d_step, self.g_step, self.images_seen = state["d_step"], state["g_step"], state["images_seen"]
        self.nonfinite_skips = state["nonfinite_skips"]
        # Absent in checkpoints of older versions, whose n_critic was constant.
        self.round_critic_steps = state.get("round_critic_steps", self.d_step - self.g_step * self.hparams.n_critic)
        self.wall_time_before = state.get("wall_time_s", 0.0)  # absent in checkpoints of older versions
        ddp.restore_rng_states(state["rng"])
