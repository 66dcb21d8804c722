"""LABEL_ROWS result rows -> SoundLabels (the final labels themselves are derived in SQL)."""

from __future__ import annotations

from core.store import queries as q
from core.store.models import SoundLabels
from core.store.vocabulary import vocabulary_set


def labels_from_row(row: tuple, threshold: float) -> SoundLabels:
    vocab = vocabulary_set()
    final = list(row[q.COL_FINAL])
    return SoundLabels(sound_id=row[q.COL_ID], model=row[q.COL_MODEL],
                       predicted=[(p["tag"], float(p["score"])) for p in row[q.COL_PREDICTED]],
                       added=list(row[q.COL_ADDED]), removed=list(row[q.COL_REMOVED]),
                       confirmed=list(row[q.COL_CONFIRMED]), final=final,
                       reviewed=bool(row[q.COL_REVIEWED]), threshold=threshold,
                       out_of_vocabulary=[t for t in final if t not in vocab])
