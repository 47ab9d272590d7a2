"""The ``lagesbild`` command line. Each concern registers its own sub-commands."""

from __future__ import annotations

import argparse
import importlib
import sys

#: Modules that expose ``register(subparsers)``; each adds its sub-commands.
COMMAND_MODULES = [
    "lagesbild.demo.cli",
    "lagesbild.pull.cli",
    "lagesbild.alerts.cli",
    "lagesbild.report.cli",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lagesbild", description=__doc__)
    subparsers = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
