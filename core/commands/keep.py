"""`python -m core keep PATH... [--db FILE] [--json]`: keep audio files in the library, as the
upload page's "Keep in library" does: each file is tagged, copied into <audio folder>/uploads/ and
stored (source "upload") with its top predictions, ready to correct. The same audio is kept once.
The copies go to the audio folder beside the tag store ($TAGGER_AUDIO when set)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.commands.common import add_model_options, fail, files_and_tagger
from core.store.cli import add_db_option


def register(sub) -> None:
    p = sub.add_parser("keep", help="keep audio files in the library (as the upload page does)",
                       description=__doc__)
    p.add_argument("paths", nargs="+", metavar="PATH", help="audio files or folders")
    add_model_options(p)
    p.add_argument("--json", action="store_true",
                   help='one JSON object per file: {"path", "sound_id", "new"} or {"path", "error"}')
    add_db_option(p)  # the copies go to the audio folder beside it ($TAGGER_AUDIO when set)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.library import keep_copy
    from core.settings import settings
    from core.store import StoreError, TagStore

    if not (found := files_and_tagger(args)):
        return 2  # no files, or no model: said on stderr
    paths, tagger = found
    try:
        store = TagStore(args.db)
    except StoreError as e:
        return fail(str(e))
    audio_dir = settings().with_db(args.db).audio_dir
    failed = 0
    for result in tagger.tag_files(paths, top_k=None):
        if not result.ok:
            failed += 1
            report(args.json, {"path": str(result.path), "error": result.error})
            continue
        try:
            sound_id, new = keep_copy(store, result.path, Path(result.path).name, result,
                                      tagger.model_label, audio_dir)
        except (StoreError, OSError) as e:  # the store or the disk failed: what is kept stays
            return fail(str(e))
        report(args.json, {"path": str(result.path), "sound_id": sound_id, "new": new})
    if failed:
        print(f"{failed} of {len(paths)} files could not be kept", file=sys.stderr)
    return 1 if failed else 0


def report(as_json: bool, row: dict) -> None:
    if as_json:
        print(json.dumps(row, ensure_ascii=False), flush=True)
    elif "error" in row:
        print(f"{row['path']}: ERROR {row['error']}", flush=True)
    else:
        how = "kept as" if row["new"] else "already in the library as"
        print(f"{row['path']}: {how} sound {row['sound_id']}", flush=True)
