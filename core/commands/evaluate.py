"""`python -m core evaluate --model DIR --data TEST.h5 [--json]`: the course table on a test file,
and how the top 5 tags a person is shown fare (hit rate, precision)."""

from __future__ import annotations

import json

from core.commands.common import add_model_options, fail
from core.commands.common import model_dir as resolve_model_dir
from core.dataset import DatasetFormatError
from core.evaluate import evaluate_model, record_metrics
from core.metrics import TABLE_HEADERS, TABLE_KEYS
from core.modeldir import ModelNotFoundError


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="ROC-AUC, PR-AUC and subset accuracy on a COALA HDF5 file")
    p.add_argument("--data", required=True, help="test HDF5 file (COALA layout)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument("--no-write", dest="write", action="store_false",
                   help="do not write metrics.json into the model directory")
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    model_dir = str(resolve_model_dir(args))
    try:
        scores = evaluate_model(model_dir, args.data, args.device)
    except (ModelNotFoundError, DatasetFormatError, ValueError, OSError) as e:
        return fail(str(e))
    if args.write:
        record_metrics(model_dir, args.data, scores)
    if args.json:
        print(json.dumps({"model": model_dir, "data": args.data, **scores.to_dict()}))
        return 0
    print(f"{args.data}: {scores.n_clips} clips, {scores.n_tags} tags present")
    width = max(map(len, TABLE_HEADERS))
    for header, key in zip(TABLE_HEADERS, TABLE_KEYS, strict=True):
        print(f"{header:<{width}}  {getattr(scores, key):.4f}")
    top5 = scores.top5
    print(f"top-5 over {top5['clips']} labelled clips: hit rate {top5['hit_rate']:.3f}, "
          f"precision {top5['precision']:.3f} (a perfect ranking: {top5['precision_bound']:.3f}, "
          "since clips with fewer than 5 labels cannot fill their top 5)")
    print("\nper-tag average precision (positives):")
    for tag, ap in sorted(scores.per_tag_ap.items(), key=lambda kv: -kv[1]):
        print(f"  {tag:<16} {ap:.3f}  ({scores.per_tag_positives[tag]})")
    return 0
