"""The names of logged metrics as a type: `MetricKey` is built where a metric is computed (`evaluation.py`) and parsed
where one is read (the best checkpoint, the bench's report), so no reader splits strings on "_" by itself.

    fid/<extractor>_<N>_<split>   also kid/, kid_std/, precision/, recall/, ifid/ (intra-class FID): the full protocol
    isc/<extractor>_<N>           also isc_std/: Inception Score needs no real split
    classes/covered_<extractor>_<N>, classes/kl_uniform_<extractor>_<N>, classes/accuracy_<extractor>_<N>
    toy/modes_covered, ada/p, ...  a name alone

N is a count label (`fid.count_label`: 10k, 2500). Extractor names hold no "_", so the parts split from the right.
"""

from dataclasses import dataclass
from typing import Optional

from lightning_gans.metrics.fid import count_label

WITH_SPLIT = ("fid", "kid", "kid_std", "precision", "recall", "ifid")
WITHOUT_SPLIT = ("isc", "isc_std")
CLASS_COVERAGE = ("classes/covered", "classes/kl_uniform", "classes/accuracy")


@dataclass(frozen=True)
class MetricKey:
    name: str  # what is measured: fid, kid_std, classes/covered, toy/modes_covered, ...
    extractor: Optional[str] = None
    samples: Optional[str] = None  # the count label
    split: Optional[str] = None

    @classmethod
    def of(cls, name: str, extractor: str, num_samples: int, split: Optional[str] = None) -> "MetricKey":
        return cls(name, extractor, count_label(num_samples), split)

    def __str__(self) -> str:
        if self.extractor is None:
            return self.name
        protocol = "_".join(part for part in (self.extractor, self.samples, self.split) if part is not None)
        return f"{self.name}_{protocol}" if self.name in CLASS_COVERAGE else f"{self.name}/{protocol}"

    @classmethod
    def parse(cls, key: str) -> "MetricKey":
        """The key's parts; a key of a known family whose protocol has fewer parts keeps what it has."""
        for name in CLASS_COVERAGE:
            if key.startswith(f"{name}_"):
                return cls(name, *key.removeprefix(f"{name}_").rsplit("_", 1))
        family, _, protocol = key.partition("/")
        if protocol and family in WITH_SPLIT:
            return cls(family, *protocol.rsplit("_", 2))
        if protocol and family in WITHOUT_SPLIT:
            return cls(family, *protocol.rsplit("_", 1))
        return cls(key)

    @property
    def file_name(self) -> str:
        """The metric's name as a file name's part: toy/modes_covered -> toy_modes_covered."""
        return self.name.replace("/", "_")
