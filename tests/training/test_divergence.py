"""The divergence guard: an update with a non-finite term leaves the parameters as they were and is counted on the
device; the count is read at check points, which warn while skips are allowed and then stop training with a message
naming the term and the step of the first update beyond them."""

import pytest
import torch
from torch import nn

from lightning_gans.errors import TrainingDiverged
from lightning_gans.training.divergence import DivergenceGuard

WHERE = "critic step 12 (generator step 3)"


def guarded_step(guard, layer, optimizer, broken=None, where=WHERE):
    """One guarded update of `layer` on loss/d = sum of its outputs; `broken` names a term made NaN."""
    out = layer(torch.ones(1, 2)).sum()
    terms = {"loss/d": out, "penalty/gp": out.detach() * 0.5}
    if broken:
        terms[broken] = terms[broken] * float("nan")
    optimizer.zero_grad(set_to_none=True)
    guard.guarded_loss(terms, "loss/d", where).backward()
    guard.skip_nonfinite_update(layer.parameters())
    optimizer.step()


def setup(max_skips, betas=(0.0, 0.99)):
    layer = nn.Linear(2, 1)
    return DivergenceGuard(max_skips), layer, torch.optim.Adam(layer.parameters(), lr=0.1, betas=betas)


def test_finite_terms_update_the_parameters_and_count_no_skip():
    guard, layer, optimizer = setup(0)
    before = layer.weight.detach().clone()
    guarded_step(guard, layer, optimizer)
    guard.check("the log")
    assert guard.skips == 0 and not torch.equal(layer.weight, before)


@pytest.mark.parametrize("broken", ["loss/d", "penalty/gp"])
def test_a_non_finite_term_leaves_the_parameters_unchanged_with_adams_beta1_zero(broken):
    guard, layer, optimizer = setup(5)
    guarded_step(guard, layer, optimizer)  # moments that a skipped update could still move by (beta1 = 0: none)
    before = [p.detach().clone() for p in layer.parameters()]
    guarded_step(guard, layer, optimizer, broken)
    assert all(torch.equal(p, b) for p, b in zip(layer.parameters(), before)) and guard.skips == 1


def test_with_beta1_a_skipped_update_moves_by_the_momentum_only_and_stays_finite():
    guard, layer, optimizer = setup(5, betas=(0.9, 0.99))
    guarded_step(guard, layer, optimizer)
    guarded_step(guard, layer, optimizer, "loss/d")
    assert all(torch.isfinite(p).all() for p in layer.parameters()) and guard.skips == 1


def test_skips_are_warned_about_at_a_check_while_allowed_then_stop_training_naming_the_first_beyond():
    guard, layer, optimizer = setup(1)
    guarded_step(guard, layer, optimizer, "penalty/gp", "critic step 3 (generator step 1)")
    with pytest.warns(UserWarning, match=r"1 update\(s\) with a non-finite term or gradient skipped before the log"):
        guard.check("the log")
    guarded_step(guard, layer, optimizer)
    guarded_step(guard, layer, optimizer, "loss/d", WHERE)  # the second skip: beyond max_skips 1
    guarded_step(guard, layer, optimizer, "penalty/gp", "critic step 13 (generator step 3)")
    with pytest.raises(TrainingDiverged, match=r"^loss/d not finite at critic step 12 \(generator step 3\): .*"
                                               "model.max_nonfinite_skips"):
        guard.check("checkpoint last.ckpt")
    assert guard.skips == 3


def test_a_resumed_run_counts_on_from_its_checkpoints_skips():
    guard, layer, optimizer = setup(2)
    guard.skips = 2  # as `on_load_checkpoint` sets it
    guarded_step(guard, layer, optimizer, "loss/d")
    with pytest.raises(TrainingDiverged, match="^loss/d not finite"):
        guard.check("the log")


def test_a_non_finite_gradient_of_finite_terms_skips_the_update_too():
    """As under DDP, when another process's NaN reaches this one through the gradient all-reduce."""
    guard, layer, optimizer = setup(0)
    layer.weight.register_hook(lambda grad: grad * float("nan"))
    guarded_step(guard, layer, optimizer)
    with pytest.raises(TrainingDiverged, match="^a gradient, or a term on another process, not finite"):
        guard.check("the log")
    assert all(torch.isfinite(p).all() for p in layer.parameters())
