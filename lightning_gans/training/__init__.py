"""What a training run needs around a technique: periodic callbacks counted in generator steps (checkpoints,
sample grids, evaluation), logging (loggers, stats windows, diagnostics) and the DDP helpers."""
