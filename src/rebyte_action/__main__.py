"""The entry point the container runs: ``python -m rebyte_action``."""

import sys

from .run import main

sys.exit(main())
