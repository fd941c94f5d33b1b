"""The ``minikeras`` command line."""

from __future__ import annotations

import argparse
import sys

from .registry import REGISTRY, kinds
from .scaffold import TEMPLATES


def _plugins(args: argparse.Namespace) -> int:
    """List every registered plugin without importing any."""
    names = [args.kind] if args.kind else list(kinds())
    rows = [("KIND", "NAME", "DISTRIBUTION", "TARGET")]
    for kind in names:
        for info in sorted(REGISTRY.infos(kind), key=lambda i: i.name):
            rows.append((kind, info.name, info.origin, info.target))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    if len(rows) == 1:
        print("no plugins installed (install minikeras-plugins, or check MINIKERAS_DISABLE_PLUGIN_AUTOLOAD)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run

    result = run(epochs=args.epochs, seed=args.seed, learning_rate=args.learning_rate)
    return 0 if result["final_loss"] < result["initial_loss"] else 1


def _train(args: argparse.Namespace) -> int:
    from .errors import PluginError
    from .plotting import PLOT_HINT
    from .train import ConfigError, train_from_config

    try:
        _, history, saved = train_from_config(args.config, output=args.output, plot=args.plot, verbose=args.verbose)
    except ImportError as err:
        if args.plot is not None and "matplotlib" in str(err):
            print(f"minikeras train: --plot needs matplotlib, which is not installed: {PLOT_HINT}", file=sys.stderr)
            return 2
        raise
    except (ConfigError, FileNotFoundError, PluginError) as err:
        print(f"minikeras train: {err}", file=sys.stderr)
        return 2
    final = ", ".join(f"{key} {values[-1]:.4f}" for key, values in history.history.items())
    print(f"Saved the model to {saved} ({final})")
    if args.plot is not None:
        print(f"Wrote the training curves to {args.plot}")
    return 0


def _check(args: argparse.Namespace) -> int:
    """Run the conformance checks; one line per check, a summary, exit status 1 on any failure."""
    from .testing import all_check_names, format_report, registered_targets, run_checks

    if args.list:
        for kind, names in all_check_names().items():
            print(f"{kind}:")
            for name in names:
                print(f"  {name}")
        return 0
    if not args.names and args.dist is None and not args.all:
        print("minikeras check: give plugin names (kind:name where ambiguous), --dist DISTRIBUTION or --all", file=sys.stderr)
        return 2
    plugins = list(args.names)
    if args.all:
        plugins += registered_targets()
    try:
        results = run_checks(plugins, dist=args.dist)
    except (LookupError, ValueError, TypeError) as err:
        print(f"minikeras check: {err}", file=sys.stderr)
        return 2
    print(format_report(results))
    return 0 if all(r.ok for r in results) else 1


def _new_plugin(args: argparse.Namespace) -> int:
    """Write a ready-to-install plugin package."""
    from .scaffold import write_plugin_package

    try:
        root = write_plugin_package(args.kind, args.name, args.dir, force=args.force)
    except (ValueError, FileExistsError) as err:
        print(f"minikeras new-plugin: {err}", file=sys.stderr)
        return 2
    print(f"wrote {root}")
    print("next: fill in the methods marked TODO, then")
    print(f"  pip install -e {root}")
    print(f"  minikeras check {args.kind}:{args.name}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minikeras", description="Mini-Keras: a Keras-like library in numpy, built from plugins")
    commands = parser.add_subparsers(dest="command", required=True)

    plugins = commands.add_parser("plugins", help="list every registered plugin (imports none)")
    plugins.add_argument("--kind", choices=list(kinds()), help="only this kind")
    plugins.set_defaults(handler=_plugins)

    demo = commands.add_parser("demo", help="train the original example on the shipped digits")
    demo.add_argument("--epochs", type=int, default=100)
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--learning-rate", type=float, default=0.003, help="gradient-descent rate (the original: 0.003)")
    demo.set_defaults(handler=_demo)

    train = commands.add_parser("train", help="train the model a JSON config describes and save it (see examples/)")
    train.add_argument("config", help="the JSON file: layers, loss, optimizer, metrics, data, fit arguments")
    train.add_argument("--output", "-o", help="where to save the model (default: the config's 'output')")
    train.add_argument("--plot", metavar="CURVES.png", help="also write the loss and metric curves (needs matplotlib)")
    train.add_argument("--verbose", type=int, choices=(0, 1, 2), help="progress: 0 silent, 1 bar, 2 a line per epoch")
    train.set_defaults(handler=_train)

    check = commands.add_parser("check", help="run the conformance checks on plugins (exit status 1 on any failure)")
    check.add_argument("names", nargs="*", metavar="NAME", help="plugin names; kind:name where a name is ambiguous")
    check.add_argument("--dist", metavar="DISTRIBUTION", help="every plugin this installed distribution provides")
    check.add_argument("--all", action="store_true", help="every registered plugin")
    check.add_argument("--list", action="store_true", help="list the check names of each kind and exit")
    check.set_defaults(handler=_check)

    new = commands.add_parser("new-plugin", help="write a ready-to-install plugin package to start from")
    new.add_argument("kind", choices=list(TEMPLATES))
    new.add_argument("name", help="the plugin's registered name, snake_case (e.g. swish)")
    new.add_argument("--dir", default=".", help="where to create the package folder (default: here)")
    new.add_argument("--force", action="store_true", help="overwrite an existing package folder")
    new.set_defaults(handler=_new_plugin)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
