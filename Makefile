# `make setup` builds .venv (idempotent: redone only when pyproject.toml changes) and fetches Fashion-MNIST
# where it can; every other target runs setup first. Overrides go through ARGS, e.g.
#   make train-sngan ARGS="--model.max_g_steps 2000 --trainer.precision bf16-mixed"
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FMNIST := /usr/share/datasets/fashion-mnist
ARGS ?=

.PHONY: setup data evaluator test train-wgan train-wgan-gp train-sngan train-r1 train-ada train-toy bench bench-fid bench-augment clean-venv

setup: $(STAMP) data

$(STAMP): pyproject.toml
	test -x $(BIN)/python || python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

# Debian ships the full Fashion-MNIST; without root or apt the data module downloads it on first use.
data:
	@if [ ! -d $(FMNIST) ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null) \
		|| echo "note: apt-get could not install dataset-fashion-mnist; the data module will try a download"; \
	fi

# The offline FID feature extractor of the image configs (fid.extractor: lenet-fmnist), trained once (README, Evaluation, gives its time).
EVALUATOR := $${LIGHTNING_GANS_CACHE:-$$HOME/.cache/lightning_gans}/evaluators/classifier-fashion_mnist.pt
evaluator: setup
	@test -f "$(EVALUATOR)" || $(BIN)/lightning-gans train-evaluator --dataset fashion_mnist

# Lint, the layer contract (pyproject.toml's importlinter), then the suite on two workers, a test file each at a time
# (so module fixtures train once per file), one thread each unless OMP_NUM_THREADS says otherwise: two workers of
# two threads on two cores ran slower than of one thread (README, Tests).
TEST_WORKERS ?= 2
test: setup
	$(BIN)/ruff check lightning_gans tests benchmarks
	$(BIN)/lint-imports
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile --durations=20

train-wgan: evaluator
	$(BIN)/lightning-gans fit --config experiments/wgan.yaml $(ARGS)

train-wgan-gp: evaluator
	$(BIN)/lightning-gans fit --config experiments/wgan_gp.yaml $(ARGS)

train-sngan: evaluator
	$(BIN)/lightning-gans fit --config experiments/sngan.yaml $(ARGS)

train-r1: evaluator
	$(BIN)/lightning-gans fit --config experiments/r1gan.yaml $(ARGS)

train-ada: evaluator
	$(BIN)/lightning-gans fit --config experiments/stylegan_ada.yaml $(ARGS)

train-toy: setup
	$(BIN)/lightning-gans fit --config experiments/toy/r1gan.yaml $(ARGS)

# Every technique x SEEDS seeds on one preset (toy, toy-ring, fmnist-cpu, fmnist-2k, cifar10); results in
# results/<preset>/. Resumable. PARALLEL runs at once: two single-threaded runs use 2 CPU cores better than one run.
PRESET ?= toy
SEEDS ?= 2
PARALLEL ?= 2
bench: $(if $(filter toy toy-ring,$(PRESET)),setup,evaluator)
	$(BIN)/lightning-gans bench --preset $(PRESET) --seeds $(SEEDS) --parallel $(PARALLEL) $(if $(ARGS),-- $(ARGS))

# Scripts of benchmarks/ (benchmarks/README.md lists them all); ARGS go to the script, e.g. ARGS="--rounds 1".
bench-fid: evaluator
	$(BIN)/python benchmarks/fid.py $(ARGS)

bench-augment: setup
	$(BIN)/python benchmarks/augment.py $(ARGS)

clean-venv:
	rm -rf $(VENV)
