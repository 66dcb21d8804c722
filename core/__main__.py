"""`python -m core <command>`: every feature of the app, from the command line."""

from __future__ import annotations

import argparse
import importlib
import sys

# Each module in core.commands defines `register(subparsers)`; add new commands here.
COMMAND_MODULES = ["tag", "features", "label", "export", "feed",
                   "corpus", "train", "evaluate", "export_model"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"core.commands.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
