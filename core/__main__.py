"""`python -m core <command>`: every feature of the app, from the command line."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

# command -> (module in core.commands defining `register(subparsers)`, one-line help).
# Only the module of the command being run is imported, so `tag` never pays for scipy or duckdb.
COMMANDS = {
    "tag": ("tag", "tag audio files and folders (recursively)"),
    "features": ("features", "write the scaled (96 mel x 96 time) float32 patch"),
    "keep": ("keep", "keep audio files in the library, tagged (as the upload page does)"),
    "label": ("label", "add, remove or confirm tags of a stored sound; undo"),
    "export": ("export", "export labels (csv, jsonl, parquet, coala-h5)"),
    "store": ("store", "check the tag store file, or back it up"),
    "feed": ("feed", "fetch the newest Freesound sounds (or a folder), tag, store"),
    "freesound": ("freesound", "your Freesound account: sign in, upload, push tags"),
    "corpus": ("corpus", "render a labelled training corpus (COALA HDF5 layout)"),
    "recorded": ("recorded", "fetch Debian data packages and build the corpus of real recordings"),
    "train": ("train", "train the tagger on COALA-layout HDF5 data"),
    "evaluate": ("evaluate", "ROC-AUC, PR-AUC and subset accuracy on a COALA HDF5 file"),
    "runs": ("runs", "list, start, follow, stop or resume training runs"),
    "export-model": ("export_model", "make a model directory from a run's best checkpoint"),
    "models": ("models", "list the models in models/ with their figures"),
    "promote": ("promote", "make a model in models/ the active one"),
    "improve": ("improve", "fine-tune the active model on the store; compare old and new"),
    "retag": ("retag", "re-tag the stored sounds with the active model"),
    "embed": ("embed", "store the model's embedding of every sound lacking one"),
    "similar": ("similar", "the stored sounds most similar to a sound (embeddings)"),
    "suspects": ("suspects", "the sounds whose labels are most likely wrong"),
    "similar-eval": ("similar_eval", "similar sounds and suspects measured on a labelled pool"),
    "bench": ("bench", "speed and memory figures against the course-approach baseline"),
}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser of `command`; the other commands appear in the listing only."""
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module, help_text) in COMMANDS.items():
        if name == command:
            importlib.import_module(f"core.commands.{module}").register(sub)
        else:
            sub.add_parser(name, help=help_text)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command if command in COMMANDS else None).parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (`... | head`): nothing left to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
