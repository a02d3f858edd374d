"""Subcommands of the ``rigready`` CLI, one module each. None of them may import Qt.

:data:`COMMANDS` lists every subcommand with its one-line help and where it is registered, so
that ``rigready --help`` lists them without importing them; the chosen command's module is imported
when argparse reaches it (:func:`rigready.desktop.cli.build_parser`). Each module defines a
``register(subparsers)`` (or the function the table names) that adds its subparser(s) and sets
``func`` (``Callable[[argparse.Namespace], int]``) as the parser default.
``tests/test_cli_startup.py`` checks that every entry imports, registers its name with the
listed help, and that the table lists every command the modules register.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    SubParsers = argparse._SubParsersAction


class Command(NamedTuple):
    """One subcommand as ``rigready --help`` lists it, and where its parser is registered."""

    name: str
    help: str
    module: str
    register: str = "register"


_COMMANDS = "rigready.desktop.commands."

#: Every subcommand, in the order ``rigready --help`` lists them.
COMMANDS: tuple[Command, ...] = (
    Command("gui", "open the window (or render a page to a PNG)", "rigready.desktop.cli",
            "register_gui"),
    Command("detect", "detect CPU, GPUs, memory and storage", _COMMANDS + "detect"),
    Command("monitor", "log GPU and host readings to the database (no display needed)",
            _COMMANDS + "monitor"),
    Command("history", "list logged monitor sessions, or export one", _COMMANDS + "history",
            "register_history"),
    Command("bench", "measure GEMM throughput and storage speed", _COMMANDS + "bench"),
    Command("catalog", "check or list the hardware catalog", _COMMANDS + "catalog"),
    Command("score", "AI-readiness: tier, score and a verdict per AI task", _COMMANDS + "score"),
    Command("estimate", "memory, verdict and time for running or fine-tuning a model",
            _COMMANDS + "estimate"),
    Command("plan", "priced upgrade plans for a goal, their compatibility, and buy versus rent",
            _COMMANDS + "plan"),
)


class LazySubcommands(SubParsers):
    """The ``COMMAND`` argument: every command of :data:`COMMANDS` is
    listed (name and help, for ``--help`` and "invalid choice"), but a command's module is imported
    and its ``register`` called only when argparse reaches that command.

    Until then a command's parser is an empty stand-in; loading a module replaces the stand-ins
    of every command it registers (``monitor`` also registers ``history``), in place, so the
    order of the choices never changes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[str, Command] = {}

    def add_listed(self, command: Command) -> None:
        """List ``command`` from the table, to be registered when chosen."""
        self.add_parser(command.name, help=command.help)
        self._pending[command.name] = command

    def load(self, name: str) -> None:
        """Import the module of command ``name`` and register its real parser(s)."""
        command = self._pending.get(name)
        if command is None:
            return
        scratch = SubParsers(option_strings=[], prog=self._prog_prefix,
                             parser_class=self._parser_class)
        getattr(importlib.import_module(command.module), command.register)(scratch)
        registered_parsers = scratch._name_parser_map
        if name not in registered_parsers:
            raise RuntimeError(f"{command.module}.{command.register} did not register {name!r}")
        for registered, subparser in registered_parsers.items():
            if registered in self._pending:
                self._name_parser_map[registered] = subparser
                del self._pending[registered]

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: str | Sequence[object] | None, option_string: str | None = None,
                 ) -> None:
        """Load the chosen command, then parse its arguments as argparse does."""
        if isinstance(values, list) and values:
            self.load(str(values[0]))
        super().__call__(parser, namespace, values, option_string)
