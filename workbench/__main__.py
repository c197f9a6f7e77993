"""`python -m workbench`."""

import multiprocessing

from workbench.cli import main

if __name__ == "__main__":  # not when a spawned loader worker imports this module
    multiprocessing.freeze_support()  # a frozen app's spawned children run their task
    raise SystemExit(main())
