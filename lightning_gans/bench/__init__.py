"""The bench: every technique on the same data, budget, seeds and evaluation protocol. `presets.py` holds the presets
as data, `runner.py` plans and trains the runs (each a `lightning-gans fit` subprocess), `reference.py` scores held-out
real images under the runs' protocol, and `report.py` writes the table and the plots. `commands/bench.py` is the
command line around them."""
