"""``python -m membarrier_spec.cli``: the ``membarrier-spec`` command."""

import sys

from .app import main

sys.exit(main())
