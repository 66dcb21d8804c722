"""One module per `python -m core` subcommand, each with `register(subparsers)`."""
