"""The files of a run directory, named once.

    <runs_root>/<technique>/<run_name>/
        config.yaml                   the resolved configuration (it says nothing of where the run lies)
        checkpoints/last.ckpt         the newest state; best.ckpt, g<step>.ckpt beside it
        samples/g<step>.png           sample grids
        metrics.csv                   every logged row (`training.loggers.RunCSVLogger`, appended across resumes)
        hparams.yaml                  the technique's hyperparameters, as Lightning's loggers save them
        metrics.session<N>.csv        a bench run's earlier sessions, set aside before each resume
        metrics.json                  the last `lightning-gans evaluate`
        bench.json                    a bench run that finished
        wandb/, tensorboard/          the chosen logger's files

Every path is relative to the run directory, so a run directory can be moved or copied as a whole.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path

METRICS_CSV = "metrics.csv"
HPARAMS_YAML = "hparams.yaml"
SESSION_CSV = "metrics.session{}.csv"  # N = 0, 1, ... in the order the bench set them aside
SESSION_CSV_PATTERN = re.compile(re.escape(SESSION_CSV).replace(r"\{\}", r"(\d+)"))
CHECKPOINT_NAMES = ("best", "last")  # what `--ckpt_path` may name instead of a file

# The processes a DDP launcher starts parse the same command line as rank 0, but a run named by the clock would get
# another name in them. Rank 0 hands its run directory over in the environment, the one channel Lightning's, torchrun's
# and SLURM's launchers all pass on; only this module reads or writes it.
RUN_DIR_ENV = "LIGHTNING_GANS_RUN_DIR"


def step_name(g_step: int) -> str:
    """How a file of one generator step is named: g0001000."""
    return f"g{g_step:07d}"


def checkpoint_file(name: str) -> str:
    """A checkpoint's file name: `best`, `last` or a `step_name`, with the suffix."""
    return f"{name}.ckpt"


@dataclass(frozen=True)
class RunLayout:
    root: Path

    @classmethod
    def under(cls, runs_root: str | Path, technique: str, run_name: str) -> "RunLayout":
        return cls(Path(runs_root) / technique / run_name)

    @classmethod
    def of_checkpoint(cls, ckpt_path: str | Path) -> "RunLayout":
        """The run a checkpoint belongs to: `<run>/checkpoints/x.ckpt`."""
        return cls(Path(ckpt_path).resolve().parent.parent)

    @staticmethod
    def runs_root_of_config(config_file: Path, technique: str) -> Path | None:
        """The runs root a run's own config.yaml lies in (`<runs_root>/<technique>/<run_name>/config.yaml`); None for
        any other config file."""
        config_file = Path(config_file).resolve()
        run = RunLayout(config_file.parent)
        return config_file.parents[2] if run.config == config_file and config_file.parents[1].name == technique else None

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def checkpoints(self) -> Path:
        return self.root / "checkpoints"

    def checkpoint(self, name: str) -> Path:
        """`best` or `last` (`CHECKPOINT_NAMES`) as a file."""
        return self.checkpoints / checkpoint_file(name)

    @property
    def last_checkpoint(self) -> Path:
        return self.checkpoint("last")

    @property
    def best_checkpoint(self) -> Path:
        return self.checkpoint("best")

    def periodic_checkpoint(self, g_step: int) -> Path:
        return self.checkpoints / checkpoint_file(step_name(g_step))

    @property
    def samples(self) -> Path:
        return self.root / "samples"

    def sample_grid(self, g_step: int) -> Path:
        return self.samples / f"{step_name(g_step)}.png"

    def sample_grids(self) -> list[Path]:
        """The sample grids written so far, oldest first."""
        return sorted(self.samples.glob("g*.png"))

    @property
    def metrics_csv(self) -> Path:
        return self.root / METRICS_CSV

    @property
    def hparams(self) -> Path:
        return self.root / HPARAMS_YAML

    @property
    def metrics_json(self) -> Path:
        return self.root / "metrics.json"

    @property
    def wandb(self) -> Path:
        return self.root / "wandb"

    @property
    def tensorboard(self) -> Path:
        return self.root / "tensorboard"

    @property
    def finished_marker(self) -> Path:
        """Written by the bench when the run's fit exited successfully."""
        return self.root / "bench.json"

    def session_csv(self, session: int) -> Path:
        return self.root / SESSION_CSV.format(session)

    def session_csvs(self) -> list[Path]:
        """The earlier sessions' metrics files, in the order they were set aside."""
        return sorted((path for path in self.root.glob(SESSION_CSV.format("*")) if session_number(path) is not None),
                      key=session_number)


def session_number(path: Path) -> int | None:
    """N of `metrics.session<N>.csv`; None for any other file."""
    match = SESSION_CSV_PATTERN.fullmatch(path.name)
    return int(match.group(1)) if match else None


def is_launching_process() -> bool:
    """True in the process a user started; False in ranks that a DDP launcher (Lightning, torchrun, SLURM) made."""
    return all(os.environ.get(key, "0") == "0" for key in ("LOCAL_RANK", "NODE_RANK", "RANK", "SLURM_PROCID"))


def hand_to_launched_processes(layout: RunLayout) -> None:
    """Rank 0: the processes DDP starts from now on write into `layout` (see `RUN_DIR_ENV`)."""
    os.environ[RUN_DIR_ENV] = str(layout.root)


def handed_by_launching_process() -> RunLayout | None:
    """In a process a DDP launcher started: the run rank 0 chose; None elsewhere."""
    root = os.environ.get(RUN_DIR_ENV)
    return RunLayout(Path(root)) if root and not is_launching_process() else None
