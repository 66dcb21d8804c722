"""`python -m core tag PATH... [--top K] [--json] [--db FILE]`: tag files and folders."""

from __future__ import annotations

import dataclasses
import json
import os
import sys
from pathlib import Path

from tqdm import tqdm

from core.audio import find_audio_files
from core.commands.common import add_model_options, fail, model_dir
from core.modeldir import ModelNotFoundError
from core.tagger import Tagger, TagResult

STORE_TOP_K = 20  # predictions kept per sound in the tag store


def register(sub) -> None:
    p = sub.add_parser("tag", help="tag audio files and folders (recursively)")
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders")
    p.add_argument("--top", type=int, default=10, metavar="K", help="tags per sound (default 10)")
    p.add_argument("--json", action="store_true", help="one JSON object per input on stdout")
    add_model_options(p)
    p.add_argument("--db", default=None, metavar="FILE",
                   help="also store each sound and its top predictions in this tag store "
                        "(or in $TAGGER_DB when set); JSON lines then carry sound_id")
    p.set_defaults(run=run)


def run(args) -> int:
    paths = find_audio_files(args.paths)
    if not paths:
        return fail("no audio files found in the given paths")
    try:
        tagger = Tagger(model_dir(args), args.device)
    except ModelNotFoundError as e:
        return fail(str(e))
    store, store_errors = None, ()
    if args.db or os.environ.get("TAGGER_DB"):
        from core.store import StoreError, TagStore  # duckdb only when storing is asked for
        store_errors = (StoreError,)
        try:
            store = TagStore(args.db)
        except StoreError as e:
            return fail(str(e))
    progress = tqdm(total=len(paths), unit="file", disable=len(paths) < 2, file=sys.stderr)
    try:
        failed = _tag_all(tagger, paths, args, store, progress)
    except store_errors as e:  # the store failed mid-run (disk full, held): what is stored stays
        return fail(str(e))
    finally:
        progress.close()
    if failed:
        print(f"{failed} of {len(paths)} files could not be tagged", file=sys.stderr)
    return 1 if failed else 0


def _tag_all(tagger: Tagger, paths: list[Path], args, store, progress) -> int:
    """Tag, store (when asked) and print each file; returns how many could not be tagged."""
    failed = 0
    top_k = max(args.top, STORE_TOP_K) if store else args.top
    for result in tagger.tag_files(paths, top_k=top_k):
        failed += not result.ok
        sound_id = store_result(store, result, tagger.model_label) if store and result.ok else None
        emit(dataclasses.replace(result, tags=result.tags[:args.top]), tagger.model_label,
             args.json, sound_id)
        progress.update()
    return failed


def store_result(store, result: TagResult, model: str) -> int:
    """Keep a tagged file and its top predictions in the tag store; returns its sound id."""
    from core.store import SoundInfo, file_hash

    path = Path(result.path).resolve()
    info = SoundInfo(source="folder", name=path.name, audio_path=str(path),
                     content_hash=file_hash(path), duration_s=result.duration_s,
                     patch_start=result.patch_start, analysed_s=result.analysed_s)
    return store.add_sound(info, result.tags, model, result.embedding)[0]


def emit(result: TagResult, model: str, as_json: bool, sound_id: int | None = None) -> None:
    if as_json:
        out = result.to_json(model)
        if sound_id is not None:
            out["sound_id"] = sound_id
        print(json.dumps(out, ensure_ascii=False), flush=True)
    elif result.error:
        print(f"{result.path}: ERROR {result.error}", flush=True)
    else:
        tags = ", ".join(f"{t} {s:.2f}" for t, s in result.tags)
        note = f"  [first {result.analysed_s:.0f} s analysed]" if result.truncated else ""
        note += f"  [sound {sound_id}]" if sound_id is not None else ""
        print(f"{result.path}: {tags}{note}", flush=True)
