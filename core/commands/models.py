"""`python -m core models`: the model directories in models/, where each came from, its figures,
and which one is active."""

from __future__ import annotations

import json

from core.registry import active_model, list_registered, models_root


def register(sub) -> None:
    p = sub.add_parser("models", help="list the models in models/ with their figures")
    p.add_argument("--json", action="store_true", help="one JSON object per model")
    p.set_defaults(run=run)


def run(args) -> int:
    root = models_root()
    models = list_registered(root)
    if args.json:
        for m in models:
            print(json.dumps({"name": m.name, "path": str(m.path), "active": m.active,
                              "lineage": m.lineage, "figures": m.figures}))
        return 0
    active = active_model()
    if active.note:
        print(f"note: {active.note}")
    if not models:
        print(f"no model directories in {root}")
        return 0
    print(f"models in {root} (* active; PR-AUC macro per evaluation):")
    for m in models:
        print(describe(m))
    if active.source == "environment":
        print(f"TAGGER_MODEL is set: {active.path} is used, whatever is promoted")
    return 0


def describe(m) -> str:
    lineage = m.lineage
    made = str(lineage.get("created_at", ""))[:16].replace("T", " ") or "?"
    base = lineage.get("base_model") or "-"
    figures = ", ".join(f"{k} {v:.3f}" for k, v in m.figures.items()) or "no figures"
    return (f"{'*' if m.active else ' '} {m.name}  made {made}  by {lineage.get('made_by', '?')}"
            f"  from {base}\n    {figures}")
