"""Subcommands of the ``rigready`` CLI, one module each. None of them may import Qt.

Each module listed in :data:`COMMAND_MODULES` defines ``register(subparsers)``, which adds its
subparser(s) and sets ``func`` (``Callable[[argparse.Namespace], int]``) as the parser default.
"""

COMMAND_MODULES: tuple[str, ...] = (
    "rigready.desktop.commands.detect",
    "rigready.desktop.commands.monitor",
    "rigready.desktop.commands.bench",
    "rigready.desktop.commands.catalog",
    "rigready.desktop.commands.score",
    "rigready.desktop.commands.estimate",
    "rigready.desktop.commands.plan",
    "rigready.desktop.commands.run",
)
