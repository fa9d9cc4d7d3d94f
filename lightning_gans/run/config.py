"""A run's config.yaml read back: the classes it names, its data module and its evaluation protocols, for the commands
that work on a finished run (`evaluate`, `generate`, the bench's real-data row)."""

import importlib
from dataclasses import dataclass

import yaml

from lightning_gans.errors import ConfigError
from lightning_gans.metrics.protocol import FIDProtocol, ToyProtocol
from lightning_gans.run.layout import RunLayout


def import_class(class_path: str):
    """The class a config's `class_path` names."""
    module, name = class_path.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class RunConfig:
    values: dict  # config.yaml as it was written

    @classmethod
    def read(cls, layout: RunLayout) -> "RunConfig":
        if not layout.config.is_file():
            raise ConfigError(f"{layout.config} not found",
                              "use a checkpoint inside its run directory (runs/<technique>/<run>/checkpoints/)")
        return cls(yaml.safe_load(layout.config.read_text()))

    @property
    def technique_class(self):
        return import_class(self.values["model"]["class_path"])

    def data_module(self):
        """The run's data module, built from its section (nothing loaded yet)."""
        data = self.values["data"]
        return import_class(data["class_path"])(**data.get("init_args", {}))

    def load_technique(self, ckpt_path):
        """The technique of a checkpoint of this run, on the CPU."""
        return self.technique_class.load_from_checkpoint(ckpt_path, map_location="cpu", weights_only=True)

    @property
    def fid_protocol(self) -> FIDProtocol:
        return FIDProtocol.from_config(self.values.get("fid"))

    @property
    def toy_protocol(self) -> ToyProtocol:
        return ToyProtocol.from_config(self.values.get("toy_metrics"))
