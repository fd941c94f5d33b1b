"""The ``minikeras`` command line."""

from __future__ import annotations

import argparse
import sys

from .registry import _KINDS, REGISTRY


def _plugins(args: argparse.Namespace) -> int:
    """List every registered plugin without importing any."""
    kinds = [args.kind] if args.kind else list(_KINDS)
    rows = [("KIND", "NAME", "DISTRIBUTION", "TARGET")]
    for kind in kinds:
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

    result = run(epochs=args.epochs, seed=args.seed)
    return 0 if result["final_loss"] < result["initial_loss"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minikeras", description="Mini-Keras: a Keras-like library in numpy, built from plugins")
    commands = parser.add_subparsers(dest="command", required=True)

    plugins = commands.add_parser("plugins", help="list every registered plugin (imports none)")
    plugins.add_argument("--kind", choices=list(_KINDS), help="only this kind")
    plugins.set_defaults(handler=_plugins)

    demo = commands.add_parser("demo", help="train the original example on the shipped digits")
    demo.add_argument("--epochs", type=int, default=100)
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
