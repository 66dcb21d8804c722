"""`python -m core tag PATH... [--top K] [--json]`: tag files and folders."""

from __future__ import annotations

import json
import sys

from tqdm import tqdm

from core.audio import find_audio_files
from core.commands.common import add_model_options, fail
from core.modeldir import ModelNotFoundError
from core.tagger import TagResult, Tagger


def register(sub) -> None:
    p = sub.add_parser("tag", help="tag audio files and folders (recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders")
    p.add_argument("--top", type=int, default=10, metavar="K", help="tags per sound (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    paths = find_audio_files(args.paths)
    if not paths:
        return fail("no audio files found in the given paths")
    try:
        tagger = Tagger(args.model, args.device)
    except ModelNotFoundError as e:
        return fail(str(e))
    failed = 0
    progress = tqdm(total=len(paths), unit="file", disable=len(paths) < 2, file=sys.stderr)
    for result in tagger.tag_files(paths, top_k=args.top):
        failed += not result.ok
        emit(result, tagger.model_label, args.json)
        progress.update()
    progress.close()
    if failed:
        print(f"{failed} of {len(paths)} files could not be tagged", file=sys.stderr)
    return 1 if failed else 0


def emit(result: TagResult, model: str, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_json(model), ensure_ascii=False), flush=True)
    elif result.error:
        print(f"{result.path}: ERROR {result.error}", flush=True)
    else:
        tags = ", ".join(f"{t} {s:.2f}" for t, s in result.tags)
        note = f"  [first {result.analysed_s:.0f} s analysed]" if result.truncated else ""
        print(f"{result.path}: {tags}{note}", flush=True)
