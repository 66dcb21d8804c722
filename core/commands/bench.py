"""`python -m core bench [--quick] [--json] [--only SECTION...]`: figures beside a baseline."""

from __future__ import annotations

import json
import sys


def register(sub) -> None:
    from core.bench.run import SECTIONS

    p = sub.add_parser("bench", help="speed and memory figures against the course-approach baseline")
    p.add_argument("--quick", action="store_true", help="fewer files and repetitions (about 2 min)")
    p.add_argument("--json", action="store_true", help="print the figures as one JSON object")
    p.add_argument("--only", nargs="+", choices=SECTIONS, default=list(SECTIONS), metavar="SECTION",
                   help=f"sections to run: {', '.join(SECTIONS)} (default: all)")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        import librosa  # noqa: F401  (the baseline needs it)
    except ImportError:
        print("error: the benchmark's baseline needs the dev requirements "
              "(pip install -r requirements-dev.txt)", file=sys.stderr)
        return 2
    from core.bench.run import run_sections, summary_lines

    results = run_sections(args.only, args.quick, log=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        print("\n".join(summary_lines(results)))
    return 0
