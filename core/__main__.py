"""``python -m conslaws.core``: the same as the ``conslaws`` command."""

import sys

from conslaws.core.cli import main

sys.exit(main())
