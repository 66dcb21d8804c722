"""`python -m core promote NAME`: make models/NAME the model the CLI, the feed and the app use."""

from __future__ import annotations

from core.commands.common import fail
from core.registry import RegistryError, promote
from core.settings import settings


def register(sub) -> None:
    p = sub.add_parser("promote", help="make a model in models/ the active one")
    p.add_argument("name", help="the model's folder name in models/ (`python -m core models`)")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        path = promote(args.name)
    except (RegistryError, OSError) as e:
        return fail(str(e))
    print(f"active model: {path} (the CLI, the feed and the app use it from their next load)")
    if settings().model:
        print(f"note: TAGGER_MODEL is set ({settings().model}) and overrides it "
              "until unset")
    return 0
