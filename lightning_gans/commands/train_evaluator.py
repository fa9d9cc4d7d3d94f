"""`lightning-gans train-evaluator --dataset D [--root DIR] [--epochs N] [--output PATH] [--seed S]`: train the domain
classifier behind the lenet-* feature extractors (`metrics.extractor_classifier`)."""

from lightning_gans.commands.arguments import OneLineParser
from lightning_gans.metrics.extractor_classifier import DEFAULT_EPOCHS, EXTRACTOR_DATASETS, train_classifier


def main(args: list[str]) -> None:
    """`lightning-gans train-evaluator --dataset D [--root DIR] [--epochs N] [--output PATH] [--seed S]`."""
    parser = OneLineParser(prog="lightning-gans train-evaluator",
                           description="Train the domain classifier behind the lenet-* feature extractors.")
    parser.add_argument("--dataset", required=True, help=f"one of {', '.join(EXTRACTOR_DATASETS.values())}")
    parser.add_argument("--root", default=None, help="the dataset's directory (default: searched or downloaded)")
    parser.add_argument("--epochs", type=int, default=DEFAULT_EPOCHS,
                        help=f"passes over the train split (default: {DEFAULT_EPOCHS})")
    parser.add_argument("--output", default=None, help="weights file (default: the cache, where the extractors look)")
    parser.add_argument("--seed", type=int, default=0, help="seeds initialisation, dropout and batch order")
    options = parser.parse_args(args)
    path, test_accuracy = train_classifier(options.dataset, options.root, options.epochs, options.output, options.seed)
    print(f"test accuracy {test_accuracy:.4f}; weights saved to {path}")
