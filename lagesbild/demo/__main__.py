"""`python -m lagesbild.demo [--out DIR] [--seed N]` writes the county demo."""

import sys

from lagesbild.demo.cli import main

sys.exit(main())
