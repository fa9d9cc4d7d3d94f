"""What multi-process training of a GAN needs beyond Lightning's DDP defaults.

Each critic step leaves G's parameters unused and each generator step D's; DDP then needs its unused-parameter
detection, or the second step fails with "Expected to have finished reduction in the prior iteration". Lightning
names that strategy publicly, `ddp_find_unused_parameters_true` (and its spawn, fork and notebook twins). Importing
this module registers Lightning's plain DDP names as those twins, through Lightning's public strategy registry, so
that `--trainer.strategy ddp`, and `auto` on several devices (which picks `ddp`), train a GAN. Trainers of other
models in the same process get the detection too: slower by a walk of the autograd graph per backward, not wrong.
"""

import torch.distributed as dist
from pytorch_lightning.strategies import DDPStrategy, StrategyRegistry
from torch.nn.parallel import DistributedDataParallel

from lightning_gans.errors import ConfigError

# Lightning's plain DDP strategy names and their start methods (pytorch_lightning.strategies.ddp).
PLAIN_DDP_NAMES = {"ddp": "popen", "ddp_spawn": "spawn", "ddp_fork": "fork", "ddp_notebook": "fork"}


def register_plain_ddp_with_unused_parameter_detection() -> None:
    for name, start_method in PLAIN_DDP_NAMES.items():
        StrategyRegistry.register(
            name, DDPStrategy, override=True, find_unused_parameters=True, start_method=start_method,
            description=f"DDP with `find_unused_parameters` True (lightning-gans) and `start_method` '{start_method}'",
        )


register_plain_ddp_with_unused_parameter_detection()


def require_unused_parameter_detection(trainer) -> None:
    """Refuse, before the first step, a DDP model built without unused-parameter detection (an explicit
    `DDPStrategy()` or `ddp_find_unused_parameters_false`), whose second step would fail."""
    model = trainer.strategy.model
    if isinstance(model, DistributedDataParallel) and not model.find_unused_parameters:
        raise ConfigError("trainer.strategy builds DDP without find_unused_parameters, which a GAN's alternating "
                          "critic and generator steps need", "use --trainer.strategy ddp", "trainer.strategy")


def release_process_group(trainer) -> None:
    """Destroy the process group after fit: CPU (gloo) runs that skip this sometimes abort at exit (134)."""
    if isinstance(trainer.strategy, DDPStrategy) and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
