"""`python -m core label SOUND --add/--remove/--confirm TAG... | --undo`: correct a sound's tags."""

from __future__ import annotations

import json
import sys

from core.commands.common import add_threshold_option, fail
from core.settings import settings
from core.store import LabelResult, StoreError, TagStore
from core.store.cli import add_db_option, format_labels, open_store


def register(sub) -> None:
    p = sub.add_parser("label", help="add, remove or confirm tags of a stored sound; undo")
    p.add_argument("sound", metavar="SOUND", help="store id, or the path of a file in the store")
    p.add_argument("--add", nargs="+", default=[], metavar="TAG", help="tags to add")
    p.add_argument("--remove", nargs="+", default=[], metavar="TAG", help="tags to remove")
    p.add_argument("--confirm", nargs="+", default=[], metavar="TAG", help="tags to confirm")
    p.add_argument("--undo", action="store_true", help="take back this user's last correction")
    p.add_argument("--user", default=settings().user,
                   help="who makes the change (default $TAGGER_USER, else local, as in the app)")
    add_threshold_option(p)
    p.add_argument("--history", action="store_true", help="also print the sound's history")
    p.add_argument("--json", action="store_true", help="print the labels as one JSON object")
    add_db_option(p)
    p.set_defaults(run=run)


def run(args) -> int:
    if args.undo and (args.add or args.remove or args.confirm):
        return fail("--undo cannot be combined with --add, --remove or --confirm")
    try:
        store = open_store(args)
        sound = store.find_sound(args.sound)
        if sound is None:
            return fail(f"no sound {args.sound!r} in {store.path} (give a store id, or the path "
                        "of a file stored with `tag --db`)", 1)
        result = _apply(store, sound.id, args)
        labels = store.labels(sound.id, args.threshold)
    except (StoreError, ValueError) as e:
        return fail(str(e))
    if args.json:
        print(json.dumps({"sound_id": sound.id, "name": sound.name, **labels.__dict__},
                         ensure_ascii=False))
    else:
        print(f"sound {sound.id}: {sound.name}")
        print(format_labels(labels))
    if args.history:
        _print_history(store, sound.id)
    return 0 if result is not False else 1


def _apply(store: TagStore, sound_id: int, args) -> LabelResult | bool | None:
    if args.undo:
        undone = store.undo(sound_id, args.user)
        print(f"undid {args.user}'s last correction" if undone
              else f"nothing to undo for {args.user}", file=sys.stderr)
        return undone
    if not (args.add or args.remove or args.confirm):
        return None
    result = store.label(sound_id, args.add, args.remove, args.confirm, args.user,
                         args.threshold)
    for original in result.ignored:
        print(f"ignored {original!r}: no letters or digits left, or only stop-words",
              file=sys.stderr)
    for tag in result.out_of_vocabulary:
        hint = ", ".join(result.suggestions.get(tag, [])) or "none"
        print(f"kept {tag!r} (not in the 1000-tag vocabulary; close tags: {hint})",
              file=sys.stderr)
    return result


def _print_history(store: TagStore, sound_id: int) -> None:
    print("history:")
    for c in store.history(sound_id):
        note = " (undone)" if c.undone else ""
        typed = f" (typed {c.original!r})" if c.original != c.tag else ""
        print(f"  {c.at:%Y-%m-%d %H:%M:%S} {c.user}: {c.action} {c.tag}{typed}{note}")
