"""`survey-analysis`: the command line of the analysis package (also `python -m analysis`).

Each subcommand lives in its own module under :mod:`analysis.commands` and exposes
``register(subparsers)``, which adds its parser and sets ``func`` (a callable taking the parsed
arguments and returning an exit status). Adding a command is adding a module to ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from analysis.errors import AnalysisInputError

# Subcommand modules, in the order `--help` lists them.
COMMANDS = ("weight", "estimate", "compare", "trend", "model", "report")

EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="survey-analysis",
        description="Design-based analysis of Ten Norms survey responses.",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        importlib.import_module(f"analysis.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except AnalysisInputError as exc:
        print(f"survey-analysis {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OSError as exc:  # a missing input, an unwritable output folder, a full disk
        detail = f"{exc.strerror}: {exc.filename}" if exc.strerror and exc.filename else exc
        print(f"survey-analysis {args.command}: error: {detail}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
