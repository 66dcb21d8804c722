"""`python -m core feed`: fetch the newest Freesound sounds (or a folder), tag them, store them.

The API key is read from $FREESOUND_API_KEY only, never from an argument (shell history).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from tqdm import tqdm

from core.commands.common import add_model_options, fail, model_dir
from core.feed import (
    AUDIO_KINDS,
    FeedConfig,
    FeedSummary,
    fetch_freesound,
    ingest_folder,
    make_account_client,
    make_client,
    since_filter,
)
from core.freesound import API_KEY_ENV, FreesoundError, resolve_api_key
from core.modeldir import ModelNotFoundError
from core.settings import PREDICTIONS_KEPT, settings
from core.store import StoreError, TagStore
from core.tagger import Tagger

DEFAULT_LIMIT = 50


def register(sub) -> None:
    p = sub.add_parser("feed", help="fetch the newest Freesound sounds (or a folder), tag, store",
                       description=f"The API key comes from ${API_KEY_ENV}.")
    p.add_argument("--source", default="freesound", metavar="freesound|folder:PATH",
                   help="where sounds come from (default freesound; folder:PATH needs no key)")
    p.add_argument("--limit", type=int, default=None, metavar="N",
                   help=f"newest sounds to look at (default {DEFAULT_LIMIT}; a folder: all)")
    p.add_argument("--since", default=None, metavar="AGE",
                   help="only sounds uploaded within AGE: 30m, 12h, 3d, 2w")
    p.add_argument("--query", default="", metavar="Q", help="Freesound text query (default: all)")
    p.add_argument("--db", default=None, metavar="FILE",
                   help="tag store (default $TAGGER_DB or data/tags.duckdb)")
    p.add_argument("--api-url", default=settings().api_url, metavar="URL",
                   help="Freesound API base (default $FREESOUND_API_URL, else the real API)")
    p.add_argument("--audio-dir", default=None, metavar="DIR",
                   help="where previews and the request counter are kept (default $TAGGER_AUDIO, "
                        "else the folder audio/ beside the tag store)")
    p.add_argument("--top", type=int, default=PREDICTIONS_KEPT, metavar="K",
                   help=f"predictions stored per sound (default {PREDICTIONS_KEPT})")
    p.add_argument("--audio", default="preview", choices=AUDIO_KINDS,
                   help="preview (lossy ogg, the default) or original (the uploaded file; needs "
                        "`python -m core freesound login`)")
    p.add_argument("--if-empty", action="store_true",
                   help="do nothing when the store already holds sounds (for `make demo`)")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        folder = _folder(args.source)
        if args.since:
            since_filter(args.since)  # a bad value fails before anything is loaded
        account = _account(args) if args.audio == "original" and not folder else None
        key = None if folder or account else resolve_api_key(None)
        store = TagStore(args.db)
        n = store.count_sounds() if args.if_empty else 0
    except (ValueError, FreesoundError, StoreError) as e:
        return fail(str(e))
    if n:
        print(f"{store.path} already holds {n} sounds; nothing loaded")
        return 0
    try:
        tagger = Tagger(model_dir(args), args.device)
    except ModelNotFoundError as e:
        return fail(str(e))
    limit = args.limit if args.limit is not None else (None if folder else DEFAULT_LIMIT)
    config = FeedConfig(limit=limit or None, since=args.since, query=args.query,
                        audio_dir=Path(args.audio_dir or settings().with_db(args.db).audio_dir),
                        top_k=args.top,
                        audio="preview" if folder else args.audio)
    try:
        summary = _run_with_progress(args, folder, key or account, store, tagger, config)
    except (OSError, ValueError) as e:  # no such folder, a damaged credits.json
        return fail(str(e))
    return _report(summary, store)


def _account(args: argparse.Namespace):
    """The signed-in account (checked now, so a missing sign-in fails before the model loads)."""
    from core.oauth import Account, resolve_oauth_app

    account = Account(resolve_oauth_app(api_url=args.api_url))
    account.tokens()
    return account


def _folder(source: str) -> Path | None:
    if source == "freesound":
        return None
    if source.startswith("folder:") and source[len("folder:"):]:
        return Path(os.path.expanduser(source[len("folder:"):]))
    raise ValueError(f"--source takes 'freesound' or 'folder:PATH', not {source!r}")


def _run_with_progress(args, folder: Path | None, key, store: TagStore,
                       tagger: Tagger, config: FeedConfig) -> FeedSummary:
    # disable=None: a bar on a terminal, none in a cron log (failures and waits are still written)
    bar = tqdm(total=config.limit or 0, unit="sound", file=sys.stderr, dynamic_ncols=True,
               disable=None)

    def on_progress(done: int, total: int, message: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(message[-60:], refresh=False)
        bar.refresh()
        if "FAILED" in message:
            bar.write(message, file=sys.stderr)

    try:
        if folder:
            return ingest_folder(folder, store, tagger, config, on_progress)
        def on_wait(message: str) -> None:
            bar.write(message, file=sys.stderr)

        client = (make_client(key, args.api_url, config.audio_dir, on_wait=on_wait)
                  if isinstance(key, str) else make_account_client(key, config.audio_dir, on_wait))
        with client:
            return fetch_freesound(client, store, tagger, config, on_progress)
    finally:
        bar.close()


def _report(summary: FeedSummary, store: TagStore) -> int:
    print(f"{summary.line()}  [{store.path}]")
    if summary.stopped_reason and summary.stopped_reason.startswith("interrupted"):
        return 130
    return 1 if summary.failed or summary.stopped_reason else 0
