"""The command line, the only floor that parses argv: `lightning-gans fit | evaluate | bench | train-evaluator`."""
