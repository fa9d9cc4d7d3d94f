"""What the critic and the generator minimise: adversarial losses (`losses.py`) and the critic's regularisers
(`penalties.py`)."""
