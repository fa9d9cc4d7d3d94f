"""The divergence guard: finite terms pass, a non-finite one is skipped while skips are allowed, then stops training
with a message naming the term and the step."""

import pytest
import torch

from lightning_gans.errors import TrainingDiverged
from lightning_gans.training.divergence import DivergenceGuard

FINITE = {"loss/d": torch.tensor(1.0), "penalty/gp": torch.tensor(0.5)}
BROKEN = {"loss/d": torch.tensor(float("nan")), "penalty/gp": torch.tensor(0.5)}


def where():
    return "critic step 12 (generator step 3)"


def test_finite_terms_allow_the_update_and_count_no_skip():
    guard = DivergenceGuard(max_skips=0)
    assert guard.allows_update(FINITE, where) and guard.skips == 0


def test_a_non_finite_term_is_skipped_while_skips_are_allowed_then_stops_training():
    guard = DivergenceGuard(max_skips=1)
    with pytest.warns(UserWarning, match=r"loss/d not finite at critic step 12 \(generator step 3\): update skipped"):
        assert not guard.allows_update(BROKEN, where)
    with pytest.raises(TrainingDiverged, match="loss/d not finite at critic step 12 .*model.max_nonfinite_skips"):
        guard.allows_update(BROKEN, where)
    assert guard.skips == 2


def test_a_non_finite_term_on_another_process_skips_this_one_too():
    guard = DivergenceGuard(max_skips=1)
    with pytest.warns(UserWarning, match="a term on another process not finite"):
        assert not guard.allows_update(FINITE, where, any_process=lambda flag: True)
