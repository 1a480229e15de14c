"""The `steward` command line. Each module here that defines ``register(subparsers)`` adds a command."""
