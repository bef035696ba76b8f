"""One module per `survey-analysis` subcommand; each defines ``register(subparsers)``."""
