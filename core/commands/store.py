"""`python -m core store check|backup [--db FILE]`: the health of the tag store file, and a backup."""

from __future__ import annotations

from core.commands.common import fail
from core.store import StoreError
from core.store.cli import add_db_option, db_path
from core.store.maintenance import backup_store, check_store


def register(sub) -> None:
    p = sub.add_parser("store", help="check the tag store file, or back it up")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="schema version, counts, DuckDB's storage figures; "
                                             "reads every block (checksums)")
    add_db_option(check)
    backup = actions.add_parser("backup", help="write a consistent copy of the store (do this "
                                               "before upgrading the program)")
    backup.add_argument("--out", required=True, metavar="FILE", help="the copy (replaced)")
    add_db_option(backup)
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        if args.action == "check":
            print("\n".join(check_store(db_path(args)).lines()))
        else:
            report = backup_store(db_path(args), args.out)
            counts = ", ".join(f"{k} {v}" for k, v in report.counts.items())
            print(f"wrote {report.path} ({report.bytes / 2**20:.1f} MiB): {counts}")
    except StoreError as e:
        return fail(str(e))
    return 0
