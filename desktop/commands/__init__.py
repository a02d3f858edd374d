"""Subcommands of the ``rigready`` CLI, one module each. None of them may import Qt.

Each module listed in :data:`COMMAND_MODULES` defines ``register(subparsers)``, which adds its
subparser(s) and sets ``func`` (``Callable[[argparse.Namespace], int]``) as the parser default.
"""

COMMAND_MODULES: tuple[str, ...] = (
    "desktop.commands.detect",
    "desktop.commands.monitor",
    "desktop.commands.bench",
    "desktop.commands.catalog",
    "desktop.commands.score",
    "desktop.commands.estimate",
    "desktop.commands.plan",
)
