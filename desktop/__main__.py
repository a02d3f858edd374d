"""``python -m desktop`` runs the CLI (and so the app)."""

import sys

from desktop.cli import main

sys.exit(main())
