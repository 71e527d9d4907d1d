"""`python -m grpo_nb` runs the `grpo-nb` command line (not exported: this file is hand-written)."""
import sys

from grpo_nb.cli import main

sys.exit(main())
