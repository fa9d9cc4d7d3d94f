"""`fit --init_from P`: a new run that starts from a checkpoint's G, D and EMA weights, with new counters and
optimizers."""

import torch
from conftest import QUIET, TOY_CONFIG

from lightning_gans.commands.main import main
from lightning_gans.techniques import GANTechnique


def test_fine_tuning_starts_from_the_weights_with_new_counters_optimizers_and_run_directory(tmp_path, monkeypatch):
    run = ["fit", "--config", TOY_CONFIG, *QUIET, "--runs_root", str(tmp_path), "--model.width", "16", "--logger", "none"]
    main([*run, "--run_name", "source", "--model.max_g_steps", "4"])
    source_path = tmp_path / "wgan_gp" / "source" / "checkpoints" / "last.ckpt"
    source = torch.load(source_path, weights_only=True)
    assert source["lightning_gans"]["g_step"] == 4 and all(opt["state"] for opt in source["optimizer_states"])

    at_start = {}
    on_fit_start = GANTechnique.on_fit_start

    def record(self):
        at_start.update(state={k: v.clone() for k, v in self.state_dict().items()}, g_step=self.g_step,
                        images_seen=self.images_seen, optimizer_states=[o.state_dict()["state"] for o in self.optimizers()])
        on_fit_start(self)

    monkeypatch.setattr(GANTechnique, "on_fit_start", record)
    main([*run, "--run_name", "tuned", "--model.max_g_steps", "2", "--init_from", str(source_path)])
    assert at_start["g_step"] == at_start["images_seen"] == 0 and at_start["optimizer_states"] == [{}, {}]
    assert at_start["state"].keys() == source["state_dict"].keys()
    assert any(key.startswith("generator_ema.") for key in at_start["state"])
    for key, value in source["state_dict"].items():
        assert torch.equal(at_start["state"][key], value), key
    tuned = torch.load(tmp_path / "wgan_gp" / "tuned" / "checkpoints" / "last.ckpt", weights_only=True)
    assert tuned["lightning_gans"]["g_step"] == 2
    assert torch.load(source_path, weights_only=True)["lightning_gans"]["g_step"] == 4  # the source run is untouched

    # The requeued command of a fine-tuning job resumes the fine-tuned run from its own checkpoint.
    main([*run, "--run_name", "tuned", "--model.max_g_steps", "3", "--init_from", str(source_path), "--resume", "auto"])
    resumed = torch.load(tmp_path / "wgan_gp" / "tuned" / "checkpoints" / "last.ckpt", weights_only=True)
    assert resumed["lightning_gans"]["g_step"] == 3
