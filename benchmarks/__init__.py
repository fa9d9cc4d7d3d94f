"""Scripts that measure lightning_gans (speed, accuracy, tuning sweeps), each run as `python benchmarks/<name>.py`;
`benchmarks/README.md` lists them and where their results are written up. A package so that the layer contract
(pyproject.toml) covers it: benchmarks import lightning_gans, never the other way round."""
