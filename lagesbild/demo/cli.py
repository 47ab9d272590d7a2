"""`lagesbild demo` and `lagesbild demo-national`: write the synthetic inputs and say what was written."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lagesbild.settings import Settings


def _default_out() -> Path:
    return Settings.from_env().data_dir / "demo" / "inputs"


def register(subparsers) -> None:
    demo = subparsers.add_parser("demo", help="generate the county demo inputs (snapshots, verdict register)")
    demo.add_argument(
        "--out", type=Path, default=None, help="output folder (default: <data dir>/demo/inputs)"
    )
    demo.add_argument("--seed", type=int, default=2024)
    demo.add_argument("--county", default="05", help="county code (default 05, Östergötland)")
    demo.set_defaults(func=run_demo)

    national = subparsers.add_parser(
        "demo-national",
        help="generate national-scale synthetic inputs for the benchmark (290 municipalities)",
    )
    national.add_argument("--out", type=Path, required=True, help="output folder")
    national.add_argument("--rows", type=int, default=10_000_000, help="target ad-snapshot lines")
    national.add_argument("--years", type=int, default=5)
    national.add_argument("--seed", type=int, default=2024)
    national.add_argument("--gzip", action="store_true", help="gzip the capture files (slower to write)")
    national.set_defaults(func=run_national)


def run_demo(args: argparse.Namespace) -> int:
    from lagesbild.demo.county import generate_demo

    summary = generate_demo(args.out or _default_out(), seed=args.seed, county_code=args.county)
    print(summary.describe())
    return 0


def run_national(args: argparse.Namespace) -> int:
    from lagesbild.demo.national import generate_national

    summary = generate_national(
        args.out, seed=args.seed, target_rows=args.rows, years=args.years, gzip=args.gzip
    )
    print(summary.describe())
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m lagesbild.demo [--out DIR] [--seed N]`: the county demo only."""
    parser = argparse.ArgumentParser(
        prog="python -m lagesbild.demo", description="Generate the county demo inputs."
    )
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["demo", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)
