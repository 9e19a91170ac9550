"""``python -m py3r_script``: the command line."""

import sys

from .cli.main import main

sys.exit(main())
