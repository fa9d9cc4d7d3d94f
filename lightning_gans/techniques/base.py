"""The training loop every technique shares: `n_critic` critic steps, then one generator step.

A technique subclass reads as its paper's algorithm box: it sets its loss and optimiser defaults and
extends `critic_loss` with its regularisers (and `after_critic_step` where the paper acts on the weights).
Here is what they share: the critic step (StyleGAN2's Dmain, and Dreg when a technique regularises in a step of
its own), the generator step and the EMA update of G (`training.ema`), the optimisers (separate G and D learning
rates, i.e. TTUR; Adam's correction for lazy regularisation), the budget, and the state a bit-exact resume needs.
What runs around the loop lives in `training/`: the counters, budget and wall clock that callbacks read
(`contract`), the divergence guard, step logging (a callback the technique adds), the RNG state and DDP.

Between two logging steps a step never waits for the device (`tests/training/test_host_syncs.py`): the divergence
guard decides on the device and what runs around the loop reads device values only at its own logging steps.

Batches come from an infinite stream positioned by `images_seen` (see `data.stream.InfiniteBatchStream`;
`on_fit_start` hands the position over), so one `training_step` is one critic step on one real batch.

Class-conditional training (`num_classes` set, batches (images, labels)): D scores (x, y) pairs, the critic step's
fakes get the real batch's labels (so a real, its fake and their interpolate share one label), and the generator
step's labels are drawn from `label_distribution`, the training labels' class frequencies.
"""

import copy
from typing import Callable, Optional

import pytorch_lightning as pl
import torch

from lightning_gans.errors import require
from lightning_gans.nets import build_networks
from lightning_gans.objectives.losses import build_loss
from lightning_gans.techniques.acceleration import (
    apply_backend_flags,
    check_compile_mode,
    compiled_forward,
    default_channels_last,
)
from lightning_gans.techniques.loop_options import check_loop_options
from lightning_gans.techniques.optimizers import build_optimizers
from lightning_gans.training import ddp, rng
from lightning_gans.training.contract import TrainingBudget, TrainingProgress
from lightning_gans.training.diagnostics import critic_diagnostics
from lightning_gans.training.divergence import DivergenceGuard
from lightning_gans.training.ema import ema_beta, update_ema
from lightning_gans.training.stats import StatsWindow
from lightning_gans.training.step_logging import StepLogging


def _progress_counter(counter: str) -> property:
    """`module.<counter>` as `module.progress.<counter>`, for the tests and benchmarks that still read the counters so;
    lightning_gans itself reads `progress` (`training.contract`). Remove once those readers have moved."""
    return property(lambda self: getattr(self.progress, counter),
                    lambda self, value: setattr(self.progress, counter, value))


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
        channels_last: Optional[bool] = None,
        diagnostics_every: int = 50,
        max_nonfinite_skips: int = 0,
        num_classes: Optional[int] = None,
        class_names: Optional[list[str]] = None,
        compile: Optional[str] = None,
        cudnn_benchmark: bool = True,
        allow_tf32: bool = False,
    ):
        """
        Args:
            data_shape: shape of one sample, (C, H, W) or (2,); the CLI links it from the data module.
            architecture: network family from `nets.ARCHITECTURES` (cnn, resnet, mlp).
            width: base channel count (MLP: hidden units); None takes the paper's value.
            depth: hidden layers of the MLP (None: the paper's 3); image architectures have a fixed depth.
            optimizer: adam or rmsprop; `betas` apply to adam only.
            lr_g, lr_d: generator and critic learning rates (unequal values give TTUR, Heusel et al. 2017).
            lr_schedule: constant, or linear: both learning rates decay linearly to 0 over max_g_steps
                (`optimizers.lr_factor`), stepped once per generator update.
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
            channels_last: memory format of G's and D's weights and of the training batches: true channels_last,
                false contiguous, null the device's (`acceleration.default_channels_last`: channels_last on the
                CPU, contiguous elsewhere), resolved in `setup` once the device is known (`self.channels_last`).
            g_batch_multiple: the generator step draws this many times the batch of latents (sngan_projection's
                and improved_wgan_training's ResNet CIFAR settings: 2).
            diagnostics_every: every this many G steps, log D's input-gradient norm at real, fake and
                interpolated points and the largest singular value of each D layer.
            max_nonfinite_skips: an update with a non-finite loss, penalty or gradient is skipped on the device
                (`training.divergence`); training stops (TrainingDiverged) at the next logging step or checkpoint
                once more than this many were skipped; 0 stops after the first.
            compile: `torch.compile` mode (default, reduce-overhead, max-autotune) of G's and D's plain forward
                passes (`plain_pass`), or null: eager. The passes whose gradient is differentiated again (WGAN-GP's
                interpolates, R1 and R2, the consistency term, `critic_diagnostics`) and sampling stay eager, since
                compiled graphs do not support double backward. The checkpoints hold the eager modules' state.
            cudnn_benchmark: on CUDA, cuDNN's autotuner picks each convolution's fastest algorithm
                (`acceleration.apply_backend_flags`).
            allow_tf32: on CUDA, TF32 in matmuls and convolutions (off, as stylegan2-ada's default).
            num_classes: None: unconditional; C: class-conditional G(z, y) and D(x, y) on batches (images, labels)
                with labels in 0..C-1 (the CLI links it from data.num_classes).
            class_names: the classes' names (the CLI links them from the data); None: "0".."C-1".
        """
        super().__init__()
        check_loop_options(n_critic=n_critic, lr_g=lr_g, lr_d=lr_d, betas=betas, ema_kimg=ema_kimg,
                           ema_rampup=ema_rampup, g_batch_multiple=g_batch_multiple, lr_schedule=lr_schedule,
                           optimizer=optimizer, max_g_steps=max_g_steps, max_kimg=max_kimg,
                           max_nonfinite_skips=max_nonfinite_skips, diagnostics_every=diagnostics_every)
        require(num_classes is None or num_classes >= 1, "model.num_classes", num_classes,
                "use null (unconditional) or the number of classes: set data.conditional true, which links it")
        require(class_names is None or (num_classes is not None and len(class_names) == num_classes),
                "model.class_names", class_names, f"give one name per class ({num_classes} classes), or null")
        check_compile_mode(compile)
        self.save_hyperparameters()  # the configuration as given (under LightningCLI: the config's values)
        self.automatic_optimization = False
        # What the loop and the callbacks read (`training.contract.GANModule`), as the technique resolved it.
        self.n_critic = n_critic
        self.latent_dim = latent_dim
        self.data_shape = tuple(data_shape)
        self.budget = TrainingBudget(max_g_steps, max_kimg)
        self.fused_critic = fused_critic
        self.num_classes = num_classes
        self.class_names = None if num_classes is None else list(class_names or map(str, range(num_classes)))
        if num_classes is not None:
            # Uniform until `connect_data`; saved with checkpoints, so sampling needs no data. Unconditional modules
            # have no such buffer, so their checkpoints (and older ones) keep their keys.
            self.register_buffer("label_distribution", torch.full((num_classes,), 1 / num_classes))

        self.generator, self.critic = self.build_networks(
            architecture, self.data_shape, latent_dim, width=width, depth=depth, spectral_norm=spectral_norm,
            n_power_iterations=n_power_iterations, critic_dropout=critic_dropout, num_classes=num_classes,
        )
        self.generator_ema = copy.deepcopy(self.generator).requires_grad_(False)
        self.adversarial = build_loss(loss, **({"label_smoothing": label_smoothing} if label_smoothing else {}))
        self.use_channels_last(bool(channels_last))

        self.progress = TrainingProgress()  # saved with checkpoints; its images_seen positions the data stream
        self.stats = StatsWindow()
        self.divergence_guard = DivergenceGuard(max_nonfinite_skips)
        self._plain_passes: dict[str, Callable[..., torch.Tensor]] = {}  # a dict: compiled wrappers are no submodules

    def build_networks(self, architecture: str, data_shape: tuple, latent_dim: int, **options):
        """(generator, critic), by default `nets.build_networks`; a technique with its own networks overrides it."""
        return build_networks(architecture, data_shape, latent_dim, **options)

    # ----------------------------------------------------------------------------------------- the loop
    def training_step(self, batch, batch_idx: int) -> Optional[dict[str, torch.Tensor]]:
        """One critic step on the real `batch` (images, or (images, labels) when conditional); after the round's
        last critic step, one generator step. Returns that step's terms when it ended with a generator step (the
        progress bar shows its losses), else None."""
        opt_g, opt_d = self.optimizers()
        real, labels = self.split_batch(batch)
        # Unconditional steps call the hooks without labels, as before conditioning existed (overrides in tests and
        # benchmarks take (real, fake)).
        with_labels = () if labels is None else (labels,)
        real = self._memory_format(real)
        batch_size = real.shape[0]
        progress = self.progress

        self.before_critic_step()
        with self.toggled_optimizer(opt_d):
            with torch.no_grad():
                fake = self.generate(self.sample_latents(batch_size), labels)
            terms = self.critic_loss(real, fake, *with_labels)
            self.update(opt_d, terms, "loss/d", "critic")
            regularization = self.critic_regularization(real, fake, *with_labels)
            if regularization is not None:
                self.update(opt_d, regularization, "loss/d_reg", "critic")
                terms.update(regularization)
        self.after_critic_step()
        progress.d_step += 1
        progress.round_critic_steps += 1
        progress.images_seen += batch_size * self.trainer.world_size
        self.stats.record(terms)
        if progress.round_critic_steps < self.n_critic_at(progress.g_step):
            return None

        with self.toggled_optimizer(opt_g):
            g_batch_size = batch_size * self.hparams.g_batch_multiple
            g_labels = self.sample_labels(g_batch_size)
            g_with_labels = () if g_labels is None else (g_labels,)
            g_terms = self.generator_loss(self.generate(self.sample_latents(g_batch_size), g_labels), *g_with_labels)
            self.update(opt_g, g_terms, "loss/g", "generator")
        self.update_ema(progress.round_critic_steps * batch_size * self.trainer.world_size)
        progress.g_step += 1
        progress.round_critic_steps = 0
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()
        self.stats.record(g_terms)
        if progress.g_step % self.hparams.diagnostics_every == 0:
            self.stats.record(self.critic_diagnostics(real, fake, *with_labels))
        if self.budget_reached():
            self.trainer.should_stop = True
        return {key: value.detach() for key, value in {**terms, **g_terms}.items()}

    def split_batch(self, batch) -> tuple[torch.Tensor, Optional[torch.Tensor]]:
        """(images, labels) of a training batch; labels None when unconditional."""
        conditional = isinstance(batch, (tuple, list))
        if conditional != (self.num_classes is not None):
            raise ValueError(f"{type(self).__name__} with num_classes={self.num_classes} got "
                             f"{'(images, labels)' if conditional else 'images alone'}: the data's conditional "
                             "setting and the model's num_classes disagree (set data.conditional, which links them)")
        return tuple(batch) if conditional else (batch, None)

    def generate(self, z: torch.Tensor, labels: Optional[torch.Tensor]) -> torch.Tensor:
        """G(z), or G(z, y) when conditional, through G's plain pass (compiled with `compile`)."""
        generator = self.plain_pass("generator")
        return generator(z) if labels is None else generator(z, labels)

    def score(self, x: torch.Tensor, labels: Optional[torch.Tensor], plain: bool = True) -> torch.Tensor:
        """D(x), or D(x, y) when conditional: through D's plain pass (compiled with `compile`), or with `plain` False
        through the eager module, for points whose input gradient is differentiated again (penalties)."""
        critic = self.plain_pass("critic") if plain else self.critic
        return critic(x) if labels is None else critic(x, labels)

    def critic_loss(self, real: torch.Tensor, fake: torch.Tensor,
                    labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """Terms of the critic objective; `loss/d` is the total that is minimised. Techniques extend it. `labels`
        (conditional) are the labels of the reals and of their fakes alike."""
        return self.adversarial_terms(*self.critic_scores(real, fake, labels=labels))

    def critic_scores(self, *batches: torch.Tensor,
                      labels: Optional[torch.Tensor] = None) -> tuple[torch.Tensor, ...]:
        """D's scores of each batch; conditional, every batch is scored with `labels` (the batches are a critic
        step's pairs: reals, their fakes, their interpolates). Penalty points (the batches that require grad) get a
        forward pass of their own: the penalty's double backward then runs over them alone, cheaper than over the
        whole concatenation (`benchmarks/throughput.py --separate`); under autocast that pass runs in float32, so
        penalties keep float32 accuracy (as `penalties._input_gradients` does). The other batches, with
        `fused_critic`, share one forward pass of their concatenation (the labels repeated): spectral norm's power
        iteration then advances once per pass instead of once per batch, and dropout draws one mask over the pass."""
        device = batches[0].device.type
        autocast = torch.is_autocast_enabled(device)
        scores = {}
        for i, batch in enumerate(batches):
            if batch.requires_grad:
                with torch.autocast(device, enabled=False):
                    scores[i] = self.score(batch.float() if autocast else batch, labels, plain=False)
        others = [i for i in range(len(batches)) if i not in scores]
        if self.fused_critic and len(others) > 1:
            joint_labels = None if labels is None else labels.repeat(len(others))
            joint = self.score(torch.cat([batches[i] for i in others]), joint_labels)
            scores.update(zip(others, joint.split([len(batches[i]) for i in others])))
        else:
            scores.update((i, self.score(batches[i], labels)) for i in others)
        return tuple(scores[i] for i in range(len(batches)))

    def adversarial_terms(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> dict[str, torch.Tensor]:
        """`loss/d` of the adversarial loss on D's scores (and `critic/wasserstein` where it estimates one)."""
        self.on_critic_scores(real_scores, fake_scores)
        terms = {"loss/d": self.adversarial.discriminator(real_scores, fake_scores)}
        if self.adversarial.estimates_wasserstein:
            terms["critic/wasserstein"] = (real_scores.float().mean() - fake_scores.float().mean()).detach()
        return terms

    def generator_loss(self, fake: torch.Tensor, labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        return {"loss/g": self.adversarial.generator(self.score(fake, labels))}

    def on_critic_scores(self, real_scores: torch.Tensor, fake_scores: torch.Tensor) -> None:
        """Called with D's raw scores of each critic step's real and fake batch (ADA measures overfitting here)."""

    def before_critic_step(self) -> None:
        """Called before each critic step (WGAN clips the weights here, as its reference code does)."""

    def after_critic_step(self) -> None:
        """Called after each critic update (ADA moves p here)."""

    def critic_regularization(self, real: torch.Tensor, fake: torch.Tensor,
                              labels: Optional[torch.Tensor] = None) -> Optional[dict[str, torch.Tensor]]:
        """StyleGAN2's Dreg phase: the terms of a regularisation step of D's own after the main critic step, its
        loss `loss/d_reg`, or None when none is due (the default: penalties live in `critic_loss`)."""
        return None

    def lazy_regularization_intervals(self) -> dict[str, Optional[int]]:
        """{'g': k, 'd': k} for a network regularised in a step of its own every k steps (StyleGAN2's Greg, Dreg),
        None otherwise: `configure_optimizers` corrects that network's Adam for the extra steps."""
        return {"g": None, "d": None}

    def n_critic_at(self, g_step: int) -> int:
        """Critic steps before generator step `g_step` + 1; `n_critic` unless the technique schedules it."""
        return self.n_critic

    def update(self, optimizer, terms: dict[str, torch.Tensor], loss: str, phase: str) -> None:
        """One optimiser step on `terms[loss]`, made a no-op on the device by the divergence guard when a term or a
        gradient is not finite (`training.divergence`: nothing here waits for the device)."""
        guard, progress = self.divergence_guard, self.progress
        step = progress.d_step if phase == "critic" else progress.g_step
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(guard.guarded_loss(terms, loss, f"{phase} step {step} (generator step {progress.g_step})"))
        guard.skip_nonfinite_update(p for group in optimizer.param_groups for p in group["params"])
        optimizer.step()

    def update_ema(self, images: int) -> None:
        """The EMA generator's update after a generator step whose critic steps showed D `images` real images
        (`training.ema`: half-life ema_kimg, ramped up over the images seen before them)."""
        beta = ema_beta(images, self.progress.images_seen - images, self.hparams.ema_kimg, self.hparams.ema_rampup)
        update_ema(self.generator_ema, self.generator, beta)

    def budget_reached(self) -> bool:
        return self.budget.reached(self.progress.g_step, self.progress.images_seen)

    # --------------------------------------------------------------------------------------- mechanics
    def check_divergence(self, at: str) -> None:
        """The divergence guard's check point (`DivergenceGuard.check`), on every process together; `at` names it."""
        self.divergence_guard.check(at, lambda t: self.trainer.strategy.reduce(t, reduce_op="max"))

    def plain_pass(self, network: str) -> Callable[..., torch.Tensor]:
        """The forward pass of `network` ('generator' or 'critic') whose gradient is not differentiated again:
        compiled with the `compile` option, else the module itself."""
        if network not in self._plain_passes:
            self._plain_passes[network] = compiled_forward(getattr(self, network), self.hparams.compile)
        return self._plain_passes[network]

    def backward(self, loss: torch.Tensor, *args, **kwargs) -> None:
        """`manual_backward` runs here, inside training_step's autocast under bf16-mixed; the backward runs with
        autocast off (PyTorch's advice), so the backward of a float32 pass, a penalty's critic pass
        (`penalties._input_gradients`), stays float32."""
        with torch.autocast(self.device.type, enabled=False):
            super().backward(loss, *args, **kwargs)

    def sample_latents(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def sample_labels(self, n: int) -> Optional[torch.Tensor]:
        """n labels drawn from `label_distribution` on the module's device (no host sync); None when unconditional."""
        if self.num_classes is None:
            return None
        return torch.multinomial(self.label_distribution, n, replacement=True)

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: Optional[torch.Tensor] = None, ema: bool = True,
               **generator_kwargs) -> torch.Tensor:
        """Images (or points) for latent codes `z` (and `labels`, required when conditional), from the EMA
        generator by default, in eval mode."""
        generator = self.generator_ema if ema else self.generator
        was_training = generator.training
        generator.eval()
        label_args = () if labels is None else (labels.to(self.device),)
        out = generator(z.to(self.device), *label_args, **generator_kwargs)
        generator.train(was_training)
        return out

    def critic_diagnostics(self, real: torch.Tensor, fake: torch.Tensor,
                           labels: Optional[torch.Tensor] = None) -> dict[str, torch.Tensor]:
        """What `diagnostics.critic_diagnostics` measures of D, every `diagnostics_every` generator steps."""
        return critic_diagnostics(self.critic, real, fake, labels)

    def use_channels_last(self, channels_last: bool) -> None:
        """Put the networks' 4-D weights, and from now on the training batches, in channels_last or contiguous
        memory format."""
        self.channels_last = channels_last
        self.to(memory_format=torch.channels_last if channels_last else torch.contiguous_format)

    def _memory_format(self, x: torch.Tensor) -> torch.Tensor:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x.ndim == 4 else x

    # ------------------------------------------------------------------------------------ Lightning hooks
    def configure_optimizers(self):
        hp = self.hparams
        return build_optimizers(self.generator, self.critic, hp.optimizer, hp.lr_g, hp.lr_d, hp.betas,
                                self.lazy_regularization_intervals(), hp.lr_schedule, hp.max_g_steps, self.device)

    def configure_callbacks(self) -> list[pl.Callback]:
        """Step logging, unless the trainer has it already: its place in the trainer's callbacks orders a step's
        training row among the evaluations' rows (Lightning appends a module's callbacks after the trainer's)."""
        return [] if any(isinstance(c, StepLogging) for c in self.trainer.callbacks) else [StepLogging()]

    def connect_data(self, datamodule) -> None:
        """Take from `datamodule` what the technique needs besides the training stream, or raise a ConfigError if
        it cannot serve this technique. `setup` calls it on every process; the CLI once more before the run
        directory exists, so that bad data leaves nothing behind. Conditional: the data's classes must be the
        model's, and the generator step draws labels from the data's label distribution."""
        data_classes = getattr(datamodule, "num_classes", None)
        if data_classes != self.num_classes:
            if self.num_classes is None:
                fix = (f"the data has {data_classes} classes but the model is unconditional: set data.conditional "
                       "false, or train a conditional model")
            elif data_classes is None:
                fix = (f"the model is conditional ({self.num_classes} classes) but the data has no labels: set "
                       "data.conditional true on labelled data")
            else:
                fix = (f"the model has {self.num_classes} classes (a checkpoint's are those it was trained on) but "
                       f"the data has {data_classes}: use data with {self.num_classes} classes")
            require(False, "model.num_classes", self.num_classes, fix)
        if self.num_classes is not None:
            self.label_distribution.copy_(datamodule.label_distribution())

    def setup(self, stage: str) -> None:
        self.connect_data(self.trainer.datamodule)
        # The device the module is about to move to (Lightning moves it after `setup`).
        device = self.trainer.strategy.root_device
        apply_backend_flags(device, self.hparams.cudnn_benchmark, self.hparams.allow_tf32)
        if self.hparams.channels_last is None:
            self.use_channels_last(default_channels_last(device))

    def on_fit_start(self) -> None:
        ddp.require_unused_parameter_detection(self.trainer)
        # The data stream continues where this run's counter stands (a resumed checkpoint has set it by now).
        self.trainer.datamodule.seek(self.progress.images_seen)

    def on_train_start(self) -> None:
        self.progress.clock.start_session()

    def on_train_end(self) -> None:
        self.check_divergence(f"the end of training (generator step {self.progress.g_step})")

    def teardown(self, stage: str) -> None:
        ddp.release_process_group(self.trainer)

    # ------------------------------------------------------------------------------------ checkpoints
    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["lightning_gans"] = {**self.progress.state_dict(), "nonfinite_skips": self.divergence_guard.skips,
                                        "rng": rng.gather_rng_states()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.upgrade_checkpoint(checkpoint)
        state = checkpoint["lightning_gans"]
        self.progress.load_state_dict(state)
        self.divergence_guard.skips = state["nonfinite_skips"]
        rng.restore_rng_states(state["rng"])

    def upgrade_checkpoint(self, checkpoint: dict) -> None:
        """Add in place what a checkpoint of an older version lacks (`training.contract.GANModule`)."""
        state = checkpoint["lightning_gans"]
        # Older versions kept no wall time, and their n_critic was constant.
        state.setdefault("wall_time_s", 0.0)
        state.setdefault("round_critic_steps", state["d_step"] - state["g_step"] * self.n_critic)

    # The counters as attributes of the module, for the tests and benchmarks that still read them so (`_progress_counter`).
    d_step, g_step, images_seen = (_progress_counter(name) for name in ("d_step", "g_step", "images_seen"))
