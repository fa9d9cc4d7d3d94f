"""A run as one value: where its files are (`layout.RunLayout`), what its checkpoint holds (`checkpoint.CheckpointInfo`)
and what its config.yaml says (`config.RunConfig`). `fit` writes a run; the callbacks, `evaluate`, `generate` and the
bench read it through these types instead of spelling its paths and sections themselves."""
