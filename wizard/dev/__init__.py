"""For developers and QA: the CLI commands, the demo data and `make run`'s runner."""
