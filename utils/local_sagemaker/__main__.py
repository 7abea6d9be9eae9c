"""``python -m utils.local_sagemaker``: the command line (see :mod:`.wire.cli`)."""

import sys

from .wire.cli import main

sys.exit(main())
