"""`python -m core recorded fetch|build|list`: the corpus of real recordings from Debian packages."""

from __future__ import annotations

import os
import sys
from collections import Counter
from pathlib import Path

from core.commands.common import fail, progress_bar
from core.corpus.recorded_rules import POOLS, RULES_PATH, RulesError

DEFAULT_DEST = "build/debian"


def register(sub) -> None:
    p = sub.add_parser("recorded", help="the corpus of real recordings from Debian data packages")
    verbs = p.add_subparsers(dest="verb", required=True, metavar="VERB")
    f = verbs.add_parser("fetch", help="apt-get download and unpack the packages of the pools")
    f.add_argument("--dest", default=DEFAULT_DEST, help=f"where packages are unpacked ({DEFAULT_DEST})")
    f.add_argument("--pool", action="append", choices=POOLS, help="only these pools (default: all)")
    b = verbs.add_parser("build", help="label, deduplicate, cap and featurise one pool into COALA HDF5")
    b.add_argument("--pool", required=True, choices=POOLS)
    b.add_argument("--out", required=True, help="HDF5 file to write (the manifest goes beside it)")
    b.add_argument("--packages", default=DEFAULT_DEST, help="unpacked packages (from `fetch`)")
    b.add_argument("--variants", type=int, default=0,
                   help="augmented copies per recording besides itself (untagged changes)")
    b.add_argument("--seed", type=int, default=0)
    b.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    for q in (f, b):
        q.add_argument("--rules", default=str(RULES_PATH), help="labelling rules (recordings.toml)")
    s = verbs.add_parser("list", help="what a pool would hold: clips per package and per tag")
    s.add_argument("--pool", required=True, choices=POOLS)
    s.add_argument("--packages", default=DEFAULT_DEST)
    s.add_argument("--rules", default=str(RULES_PATH))
    p.set_defaults(run=run)


def run(args) -> int:
    from core.corpus.debian import FetchError
    from core.corpus.recorded import MissingPackageError

    try:
        return {"fetch": _fetch, "build": _build, "list": _list}[args.verb](args)
    except (RulesError, FetchError, MissingPackageError, ValueError) as e:
        return fail(str(e))


def _fetch(args) -> int:
    from core.corpus.debian import fetch_packages
    from core.corpus.recorded_rules import load_rules

    rules = load_rules(args.rules)
    names = [n for pool in (args.pool or POOLS) for n in rules.pools[pool]]
    folders = fetch_packages(names, Path(args.dest), rules,
                             lambda name: print(f"fetching {name}", file=sys.stderr, flush=True))
    print(f"{len(folders)} packages unpacked in {args.dest}")
    return 0


def _build(args) -> int:
    from core.corpus.recorded import RecordedConfig, build_recorded

    cfg = RecordedConfig(args.out, args.pool, args.packages, args.seed, args.variants, args.workers,
                         args.rules)
    with progress_bar("clip", desc=f"recorded {args.pool}") as progress:
        s = build_recorded(cfg, progress)
    common = sum(1 for n in s.tag_counts.values() if n >= 30)
    print(f"wrote {s.path}: {s.n} rows from {s.clips} recordings in {s.seconds:.0f} s; "
          f"{len(s.tag_counts)} tags, {common} with at least 30 recordings")
    print("packages: " + ", ".join(f"{p} {n}" for p, n in sorted(s.package_counts.items())))
    print("left out: " + (", ".join(f"{why} {n}" for why, n in sorted(s.dropped.items())) or "none"))
    return 0


def _list(args) -> int:
    from core.corpus.recorded import RecordedConfig, plan_pool
    from core.corpus.recorded_rules import load_rules

    rules = load_rules(args.rules)
    clips, dropped = plan_pool(RecordedConfig("-", args.pool, args.packages, rules=args.rules), rules)
    tags = Counter(t for c in clips for t in c.tags)
    print(f"{args.pool}: {len(clips)} recordings; " + ", ".join(f"{w} {n}" for w, n in dropped.items()))
    print("packages: " + ", ".join(f"{p} {n}" for p, n in Counter(c.package for c in clips).most_common()))
    print("tags: " + ", ".join(f"{t} {n}" for t, n in tags.most_common()))
    return 0
