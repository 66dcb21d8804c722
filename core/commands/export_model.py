"""`python -m core export-model --run runs/NAME --out models/NAME`: a model directory from a run, or
from several runs of one recipe (--run A --run B ...: an ensemble)."""

from __future__ import annotations

from core.audio import find_audio_files
from core.commands.common import fail
from core.model_export import export_run
from core.train import RunFolderError


def register(sub) -> None:
    p = sub.add_parser("export-model", help="make a model directory from a run's best checkpoint")
    p.add_argument("--run", dest="run_dirs", action="append", required=True,
                   help="run folder written by `train`; repeat it for an ensemble of runs of one "
                        "recipe from other seeds (their logits averaged)")
    p.add_argument("--out", required=True, help="model directory to write")
    p.add_argument("--name", default="compact", help="model name shown by the app")
    p.add_argument("--version", default=None, help="version label (default: today's date)")
    p.add_argument("--test", action="append", default=[], metavar="LABEL=FILE.h5",
                   help="evaluate on this file and put the table in the card (repeatable; the "
                        "first is the primary figure in metrics.json)")
    p.add_argument("--examples", nargs="*", default=[], metavar="PATH",
                   help="audio files or folders to tag in the card (top 5 each)")
    p.set_defaults(run=run)


def run(args) -> int:
    evaluations = {}
    for item in args.test:
        label, sep, path = item.partition("=")
        if not sep:
            label, path = item.rsplit("/", 1)[-1], item
        evaluations[label] = path
    try:
        out = export_run(args.run_dirs, args.out, name=args.name, version=args.version,
                         evaluations=evaluations,
                         examples=[str(p) for p in find_audio_files(args.examples)])
    except (RunFolderError, ValueError, OSError) as e:
        return fail(str(e))
    size = sum(f.stat().st_size for f in out.iterdir()) / 2**20
    print(f"wrote {out} ({size:.1f} MiB)")
    return 0
