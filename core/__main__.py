"""``python -m conslaws.core``: the same as the ``conslaws`` command."""

import sys

from conslaws.core.frontends.cli import main

sys.exit(main())
