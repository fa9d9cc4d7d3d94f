"""The training sample grid of a conditional model (a stand-in, `conditional_doubles`): one row per class with the
same z down each column; toy points get the evaluation's labels; an unconditional model's grid is unchanged."""

import torch
from conditional_doubles import ConditionalModel

from lightning_gans.metrics.sampling import labels_for_indices, latents_for_indices
from lightning_gans.training.sample_grids import SampleGrid, expected_critic_scores, save_critic_contour, titled_grid


def test_a_conditional_image_grid_has_a_row_per_class_of_num_samples_over_classes():
    z, labels, nrow = SampleGrid(num_samples=64, seed=2).grid_inputs(ConditionalModel(10, latent_dim=8))
    assert nrow == 6 and labels.tolist() == [k for k in range(10) for _ in range(6)]  # 64 // 10 = 6 a row
    assert torch.equal(z[:6], latents_for_indices(0, 6, 8, 2)) and torch.equal(z[54:], z[:6])
    picture = titled_grid(torch.zeros(60, 1, 2, 2), "title", nrow)
    assert picture.width == 6 * 4 + 2  # six 2-px images with 2-px padding a row


def test_toy_points_get_the_evaluations_labels_and_an_unconditional_model_none():
    model = ConditionalModel(5, data_shape=(2,), latent_dim=4)
    z, labels, nrow = SampleGrid(num_samples=20, seed=1).grid_inputs(model)
    assert torch.equal(labels, labels_for_indices(0, 20, 20, torch.full((5,), 0.2))) and nrow is None
    assert torch.equal(z, latents_for_indices(0, 20, 4, 1))
    z, labels, nrow = SampleGrid(num_samples=20, seed=1).grid_inputs(ConditionalModel(None, latent_dim=4))
    assert labels is None and nrow is None and torch.equal(z, latents_for_indices(0, 20, 4, 1))


class ClassScaledCritic(torch.nn.Module):
    """D(x, y) = (y + 1) x_0: a conditional critic whose expected score is closed-form."""

    def __init__(self):
        super().__init__()
        self.unused = torch.nn.Parameter(torch.zeros(1))  # the contour reads the critic's device from a parameter
        self.num_classes = 3

    def forward(self, x, labels):
        return (labels + 1).float() * x[:, 0]


def test_a_conditional_critics_contour_is_its_score_expected_under_the_label_distribution(tmp_path):
    points = torch.tensor([[1.0, 5.0], [-2.0, 0.0]])
    distribution = torch.tensor([0.5, 0.25, 0.25])  # E[y + 1] = 0.5 + 0.5 + 0.75 = 1.75
    assert torch.allclose(expected_critic_scores(ClassScaledCritic(), points, distribution), torch.tensor([1.75, -3.5]))
    path = tmp_path / "toy.png"
    save_critic_contour(path, ClassScaledCritic(), torch.randn(10, 2), torch.randn(10, 2), title="t",
                        label_distribution=distribution)
    assert path.stat().st_size > 0
