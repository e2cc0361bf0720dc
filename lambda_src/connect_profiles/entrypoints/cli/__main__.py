"""`python -m connect_profiles.entrypoints.cli` is the `connect-profiles` command."""

import sys

from connect_profiles.entrypoints.cli import main

sys.exit(main())
