"""`lagesbild --help` imports no sub-command module (fast), and every option says what it is and its default."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest

from lagesbild.cli import COMMANDS, build_parser
from lagesbild.settings import PROJECT_ROOT

HEAVY = ("pandas", "dagster", "duckdb", "pyarrow", "pydantic")


def test_top_level_help_imports_nothing_heavy():
    code = (
        "import sys\nfrom lagesbild.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout
    for name in COMMANDS:
        assert name in proc.stdout
    assert "examples:" in proc.stdout


def _subparsers(parser: argparse.ArgumentParser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield name, sub
                yield from _subparsers(sub)


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_option_has_help_and_every_command_an_example(command):
    parser = build_parser([command])
    subs = dict(_subparsers(parser))
    assert command in subs
    for name, sub in subs.items():
        for action in sub._actions:
            if action.option_strings and action.dest != "help":
                assert action.help, f"{name} {action.option_strings} has no help"
    top = subs[command]
    assert top.epilog and "lagesbild" in top.epilog, f"{command} --help shows no example"
    text = top.format_help()
    if any(a.default not in (None, False) for a in top._actions if a.option_strings and a.dest != "help"):
        assert re.search(r"\(default:\s", text), text


def test_a_chosen_command_imports_only_its_module():
    code = (
        "import sys\nfrom lagesbild.cli import build_parser\nbuild_parser(['serve'])\n"
        "print('LOADED', sorted(m for m in ('lagesbild.report.cli', 'lagesbild.alerts.cli', 'pandas') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert "LOADED []" in proc.stdout, proc.stdout + proc.stderr
