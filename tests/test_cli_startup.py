"""The CLI's start-up stays small: commands are imported when chosen, --version imports nothing.

Not timing tests (those are ``benchmarks/detect_speed.py``): these check *what* a fresh process
imports, so that a module-level import added somewhere cannot silently bring the planner, the
catalog loader, the Hub client, Qt or numpy back into ``rigready --version``, ``--help`` or
``detect --json``. And the table of commands that ``--help`` lists without importing them cannot
drift from what the command modules register.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import rigready.desktop
from rigready.desktop import cli
from rigready.desktop.commands import COMMANDS, SubParsers
from rigready.desktop.commands.common import CliParser

ROOT = Path(__file__).resolve().parent.parent

#: Never needed to print the version or the list of commands.
HEAVY = ("rigready.assess.plan", "rigready.assess.estimate", "rigready.catalog.loader",
         "rigready.catalog.schema", "rigready.monitor.store", "huggingface_hub", "PySide6",
         "numpy", "sqlite_utils", "pynvml", "psutil", "cpuinfo", "importlib.metadata")
#: Never needed to detect this PC: planning, prices, live offers, the estimator and the Hub.
NOT_FOR_DETECT = ("rigready.assess.plan", "rigready.assess.estimate", "rigready.assess.score",
                  "rigready.catalog.loader", "rigready.catalog.schema", "rigready.catalog.prices",
                  "rigready.catalog.money", "rigready.catalog.overrides", "rigready.catalog.pack",
                  "rigready.monitor", "huggingface_hub", "PySide6", "numpy", "sqlite_utils",
                  "urllib.request", "http.client")

CHILD = """
import json, sys
out, sys.argv = sys.argv[1], ["rigready", *sys.argv[2:]]
from rigready.desktop.cli import main
try:
    code = main()
except SystemExit as exc:  # --help exits through argparse
    code = exc.code
with open(out, "w", encoding="utf-8") as f:
    json.dump({"code": code, "modules": sorted(sys.modules),
               "file": sys.modules["rigready.desktop"].__file__}, f)
"""


def _imports_of(tmp_path: Path, *argv: str) -> set[str]:
    """The modules a fresh ``rigready ARGV`` process has imported when it is done."""
    out = tmp_path / "modules.json"
    proc = subprocess.run([sys.executable, "-c", CHILD, str(out), *argv], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)
    assert out.exists(), proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["code"] == 0, (argv, proc.stderr)
    assert result["file"] == rigready.desktop.__file__  # the child ran this checkout's code
    return set(result["modules"])


def _loaded(modules: set[str], prefixes: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes))


def test_version_imports_only_the_cli_module(tmp_path: Path) -> None:
    modules = _imports_of(tmp_path, "--version")
    assert sorted(m for m in modules if m.startswith("rigready.")) == [
        "rigready.desktop", "rigready.desktop.cli"]
    assert _loaded(modules, HEAVY) == []


def test_help_imports_no_command(tmp_path: Path) -> None:
    modules = _imports_of(tmp_path, "--help")
    assert _loaded(modules, HEAVY) == []
    assert _loaded(modules, ("rigready.assess", "rigready.monitor", "rigready.catalog")) == []
    commands = {c.module for c in COMMANDS} - {"rigready.desktop.cli"}
    assert sorted(commands & modules) == []


def test_detect_json_imports_no_planning_pricing_or_hub_code(tmp_path: Path) -> None:
    modules = _imports_of(tmp_path, "detect", "--json")
    assert "rigready.assess.detect" in modules  # it did detect
    assert _loaded(modules, NOT_FOR_DETECT) == []
    others = {c.module for c in COMMANDS} - {"rigready.desktop.commands.detect",
                                             "rigready.desktop.cli"}
    assert sorted(others & modules) == []


def _register(module: str, function: str) -> SubParsers:
    subparsers = SubParsers(option_strings=[], prog="rigready", parser_class=CliParser)
    getattr(importlib.import_module(module), function)(subparsers)
    return subparsers


def test_the_command_table_matches_what_the_modules_register() -> None:
    listed = {c.name: c.help for c in COMMANDS}
    assert len(listed) == len(COMMANDS)  # no name twice
    registered: dict[str, str | None] = {}
    for command in COMMANDS:
        subparsers = _register(command.module, command.register)
        helps = {a.dest: a.help for a in subparsers._choices_actions}
        assert command.name in helps, command
        assert helps[command.name] == command.help, command
        registered.update(helps)
        for name, subparser in subparsers._name_parser_map.items():
            assert isinstance(subparser, CliParser)
            assert subparser.prog == f"rigready {name}"
    assert registered == listed  # every command a module registers is in the table, same help


def test_the_chosen_command_is_loaded_into_the_listed_parser() -> None:
    parser = cli.build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert list(action.choices) == [c.name for c in COMMANDS]
    args = parser.parse_args(["history", "--session", "3"])
    assert args.command == "history" and args.session == 3 and callable(args.func)
    assert list(action.choices) == [c.name for c in COMMANDS]
    args = parser.parse_args(["monitor", "--interval", "2"])  # its module also registers history
    assert args.command == "monitor" and args.interval == 2.0


def test_help_lists_every_command_in_table_order(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    positions = [out.index(f"\n    {c.name} ") for c in COMMANDS]
    assert positions == sorted(positions)


def test_the_version_constant_is_pyprojects() -> None:
    with (ROOT / "pyproject.toml").open("rb") as f:
        version = tomllib.load(f)["project"]["version"]
    assert rigready.desktop.__version__ == version == cli.__version__
