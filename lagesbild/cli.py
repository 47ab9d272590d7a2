"""The ``lagesbild`` command line. Each concern registers its own sub-commands.

Only the chosen sub-command's module is imported (``lagesbild --help`` imports none of them, so it
answers in a fraction of a second; pandas and Dagster load only for the commands that
use them).
"""

from __future__ import annotations

import argparse
import importlib
import sys

#: Sub-command -> (module exposing ``register(subparsers)``, one-line help). The help is here so that
#: ``lagesbild --help`` needs no module; the module's own help is what ``lagesbild <command> --help`` shows.
COMMANDS: dict[str, tuple[str, str]] = {
    "demo": ("lagesbild.demo.cli", "generate the county demo inputs (snapshots, verdict register)"),
    "demo-national": ("lagesbild.demo.cli", "generate national-scale synthetic inputs for the benchmark"),
    "serve": ("lagesbild.pull.cli", "serve publications to municipalities over HTTP (pull server)"),
    "token": ("lagesbild.pull.cli", "create, revoke or list municipality pull tokens"),
    "pull": ("lagesbild.pull.cli", "pull the latest publication into a local folder (municipality side)"),
    "alerts": ("lagesbild.alerts.cli", "restricted alerts: counts, location, or a run outside Dagster"),
    "report": ("lagesbild.report.cli", "render situation-picture reports (HTML) from disclosed marts"),
}

EXAMPLES = """\
examples:
  lagesbild demo                                   write the county demo under <data dir>/demo/inputs
  lagesbild token create --municipality 0580       print a new pull token for Linköping (once)
  lagesbild serve --port 8765                      serve data/publications on http://127.0.0.1:8765
  LAGESBILD_PULL_TOKEN=$(cat ~/.config/lagesbild/token-0580) lagesbild pull --server http://127.0.0.1:8765 --dest ./lagesbild-0580
                                                   fetch the latest publication with a token kept in a 0600 file
  lagesbild alerts status                          where the restricted alerts are, and how many
  lagesbild <command> --help                       options of one command, with defaults

The pipeline itself runs with `make run` (or the Dagster UI, `make ui`); settings are LAGESBILD_*
environment variables (README.md, "Configuration"; `python -m lagesbild.settings` checks them).
"""

#: Examples shown under each sub-command's own --help.
COMMAND_EXAMPLES: dict[str, str] = {
    "demo": "lagesbild demo --out /tmp/demo --seed 7",
    "demo-national": "lagesbild demo-national --out data/bench/inputs --rows 1000000 --years 5",
    "serve": "lagesbild serve --publications data/publications --tokens data/pull_tokens.json --port 8765",
    "token": "umask 077; mkdir -p ~/.config/lagesbild; lagesbild token create --municipality 0580 "
    "> ~/.config/lagesbild/token-0580",
    "pull": "LAGESBILD_PULL_TOKEN=$(cat ~/.config/lagesbild/token-0580) lagesbild pull "
    "--server http://127.0.0.1:8765 --dest ./lagesbild-0580",
    "alerts": "lagesbild alerts status --data-dir data",
    "report": "lagesbild report --out /tmp/reports --model-version 2026.1",
}


#: Help for options their module registers without one, by option name.
OPTION_HELP: dict[str, str] = {
    "publications": "folder of publications (the one LATEST points into)",
    "tokens": "token store: hashed tokens and their municipalities",
    "host": "address to listen on (keep loopback behind a reverse proxy)",
    "port": "TCP port to listen on",
    "id": "token id, from `lagesbild token list`",
    "municipality": "4-digit municipality code, e.g. 0580",
    "server": "base URL of the pull server",
    "token_env": "environment variable that holds your token",
    "dest": "local folder the publication is mirrored into",
    "seed": "random seed: the same seed gives the same files",
    "years": "years of weekly captures",
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the examples' line breaks and shows every option's default (when it has one)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "%(default)" in text or action.default in (None, False, argparse.SUPPRESS) or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


def _command_in(argv: list[str]) -> str | None:
    for arg in argv:
        if not arg.startswith("-"):
            return arg if arg in COMMANDS else None
    return None


def _polish(parser: argparse.ArgumentParser) -> None:
    """Every option of a sub-command shows its default, and a missing help says what the option is."""
    parser.formatter_class = HelpFormatter
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                _polish(sub)
        elif action.help is None and action.option_strings:
            action.help = OPTION_HELP.get(action.dest, action.dest.replace("_", " "))


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the module of the sub-command named in ``argv`` is imported."""
    parser = argparse.ArgumentParser(
        prog="lagesbild",
        description="lagesbild: the county's weekly prostitution and demand mapping, published to municipalities.",
        epilog=EXAMPLES,
        formatter_class=HelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    chosen = _command_in(sys.argv[1:] if argv is None else argv)
    if chosen is None:
        for name, (_, help_text) in COMMANDS.items():
            subparsers.add_parser(name, help=help_text)
        return parser
    module = importlib.import_module(COMMANDS[chosen][0])
    module.register(subparsers)
    for name, sub in subparsers.choices.items():
        _polish(sub)
        if name in COMMAND_EXAMPLES and not sub.epilog:
            sub.epilog = f"example:\n  {COMMAND_EXAMPLES[name]}"
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
