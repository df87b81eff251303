"""Lets `python -m cds_service` run the CLI."""

from .cli import main

raise SystemExit(main())
