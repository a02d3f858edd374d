"""``python -m rigready.desktop`` runs the CLI (and so the app)."""

import sys

try:
    from rigready.desktop.cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: quiet, like Ctrl-C later
    sys.exit(130)

sys.exit(main())
