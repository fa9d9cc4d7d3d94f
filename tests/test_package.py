"""The package as a whole: its floors import only downward (the import-linter contract, which fails on an upward
import), and a wheel installed outside the repository finds its built-in configs from any directory."""

import shutil
import site
import subprocess
import sys
from pathlib import Path

import grimp
import pytest
from conftest import REPO, write_fashion_mnist

BIN = Path(sys.executable).parent


def lint_imports(package_parent: Path) -> subprocess.CompletedProcess:
    """lint-imports with the repository's contracts, on the package found first under `package_parent`."""
    return subprocess.run([str(BIN / "lint-imports"), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
                          cwd=package_parent, env={"PYTHONPATH": str(package_parent), "PATH": str(BIN)},
                          capture_output=True, text=True)


def test_the_layer_contract_holds_and_fails_when_a_floor_imports_upward(tmp_path):
    assert lint_imports(REPO).returncode == 0
    for package in ("lightning_gans", "benchmarks"):  # the contracts' root packages
        shutil.copytree(REPO / package, tmp_path / package, symlinks=True)
    losses = tmp_path / "lightning_gans" / "objectives" / "losses.py"
    losses.write_text("from lightning_gans.techniques import TECHNIQUES  # upward\n" + losses.read_text())
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "lightning_gans.objectives.losses -> lightning_gans.techniques" in result.stdout


def test_no_module_of_the_package_imports_itself_through_others():
    """No import circle: a depth-first walk of the module graph (imports inside functions included) finds no edge
    back to a module on its own path."""
    graph = grimp.build_graph("lightning_gans")
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    state, circles = {}, []

    def walk(module, path):
        state[module] = "on path"
        for imported in imports.get(module, ()):
            if state.get(imported) == "on path":
                circles.append(path[path.index(imported):] + [imported])
            elif imported not in state:
                walk(imported, path + [imported])
        state[module] = "done"

    for module in sorted(imports):
        if module not in state:
            walk(module, [module])
    assert circles == []


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A venv outside the repository with the wheel of the package (its dependencies from this environment)."""
    root = tmp_path_factory.mktemp("installed")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(root / "wheel"), str(REPO)], check=True)
    subprocess.run([sys.executable, "-m", "venv", str(root / "venv")], check=True)  # on the base interpreter
    venv_site = next((root / "venv" / "lib").glob("python*/site-packages"))
    (venv_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    wheel = next((root / "wheel").glob("lightning_gans-*.whl"))
    subprocess.run([str(root / "venv" / "bin" / "python"), "-m", "pip", "install", "--no-deps", "-q", str(wheel)],
                   check=True)
    return root


def run_installed(installed: Path, *args: str) -> subprocess.CompletedProcess:
    work = installed / "elsewhere"
    work.mkdir(exist_ok=True)
    return subprocess.run([str(installed / "venv" / "bin" / "lightning-gans"), *args], cwd=work, capture_output=True,
                          text=True, env={"PATH": "/usr/bin:/bin", "WANDB_MODE": "disabled", "HOME": str(installed)})


def test_the_installed_package_is_not_the_repository(installed):
    where = subprocess.run([str(installed / "venv" / "bin" / "python"), "-c",
                            "import lightning_gans; print(lightning_gans.__file__)"],
                           cwd=installed, capture_output=True, text=True, check=True).stdout
    assert str(installed / "venv") in where


def test_an_installed_fit_finds_a_built_in_config_by_name(installed):
    data = write_fashion_mnist(installed / "fashion-mnist", n_train=128)
    result = run_installed(installed, "fit", "--config", "sngan", "--model.max_g_steps", "2", "--data.root",
                           str(data), "--fid.extractor", "null", "--trainer.accelerator", "cpu", "--logger", "csv")
    assert result.returncode == 0, result.stderr[-2000:]
    assert list((installed / "elsewhere" / "runs" / "sngan").glob("*/checkpoints/last.ckpt"))


def test_an_installed_bench_finds_the_toy_configs(installed):
    listed = subprocess.run([str(installed / "venv" / "bin" / "python"), "-c",
                             "from lightning_gans.bench.presets import PRESETS; "
                             "from lightning_gans.bench.runner import preset_configs; "
                             "print(sorted(preset_configs(PRESETS['toy'])))"],
                            cwd=installed, capture_output=True, text=True, check=True).stdout
    assert listed.strip() == "['r1gan', 'sngan', 'wgan', 'wgan_gp']"
    result = run_installed(installed, "bench", "--preset", "toy", "--seeds", "1", "--techniques", "sngan", "--",
                           "--model.max_g_steps", "2")  # one run: the subprocess and the report work when installed
    assert result.returncode == 0, result.stderr[-2000:]
    assert "1 of 1 runs finished" in result.stdout
    assert (installed / "elsewhere" / "results" / "toy" / "results.md").is_file()
