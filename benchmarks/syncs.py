"""Counting the host-device synchronisations of training steps: `HostSyncCounter`."""

import functools
import warnings

import torch

# The Tensor methods that make the host wait for the device's value; `.cpu()` counts only for a tensor that is not
# on the CPU already (there it copies nothing and waits for nothing).
SYNCING_METHODS = ("item", "tolist", "__bool__", "__float__", "__int__", "cpu")
CUDA_SYNC_WARNING = "synchronizing"  # in the message torch.cuda.set_sync_debug_mode("warn") gives each sync


class HostSyncCounter:
    """A reusable context manager that counts, while it is entered, the calls of `SYNCING_METHODS` on any tensor
    (`calls`) and, on CUDA, the synchronisations torch.cuda's sync debug mode reports (`cuda_syncs`; None on a
    machine without CUDA). Each entry adds to the counts."""

    def __init__(self):
        self.calls = 0
        self.cuda_syncs = 0 if torch.cuda.is_available() else None
        self._originals, self._recorded = {}, None

    def _counting(self, name: str, original):
        @functools.wraps(original)
        def method(tensor, *args, **kwargs):
            if name != "cpu" or tensor.device.type != "cpu":
                self.calls += 1
            return original(tensor, *args, **kwargs)
        return method

    def __enter__(self) -> "HostSyncCounter":
        for name in SYNCING_METHODS:
            self._originals[name] = getattr(torch.Tensor, name)
            setattr(torch.Tensor, name, self._counting(name, self._originals[name]))
        if self.cuda_syncs is not None:
            self._recorded = warnings.catch_warnings(record=True)
            self._warnings = self._recorded.__enter__()
            warnings.simplefilter("always")
            torch.cuda.set_sync_debug_mode("warn")
        return self

    def __exit__(self, *exc) -> None:
        for name, original in self._originals.items():
            setattr(torch.Tensor, name, original)
        if self.cuda_syncs is not None:
            torch.cuda.set_sync_debug_mode("default")
            self.cuda_syncs += sum(CUDA_SYNC_WARNING in str(w.message) for w in self._warnings)
            self._recorded.__exit__(*exc)
