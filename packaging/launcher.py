"""The packaged app's entry point: the same `workbench` command as the console script."""

from workbench.cli import main

raise SystemExit(main())
