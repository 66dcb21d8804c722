"""A sound's final labels, derived from the model's proposals and a person's changes."""

from __future__ import annotations

from core.store.models import SoundLabels
from core.store.vocabulary import vocabulary_set


def final_labels(predicted: list[tuple[str, float]], added: list[str], removed: list[str],
                 confirmed: list[str], threshold: float) -> list[str]:
    """Predicted at or above `threshold` (or confirmed), then confirmed and added, minus removed.

    Order: predictions by score, then the person's tags in the order they were given.
    """
    gone, kept = set(removed), set(confirmed)
    out = [t for t, s in predicted if (s >= threshold or t in kept) and t not in gone]
    seen = set(out)
    for t in [*confirmed, *added]:
        if t not in seen and t not in gone:
            out.append(t)
            seen.add(t)
    return out


def labels_from_row(row: tuple, threshold: float) -> SoundLabels:
    """A LABEL_ROWS result row -> SoundLabels."""
    (sound_id, _src, _name, _fid, _user, _dur, _path, _added_at, model, predicted, added,
     removed, confirmed, reviewed, _oov, _unc) = row
    pairs = [(p["tag"], float(p["score"])) for p in predicted]
    final = final_labels(pairs, list(added), list(removed), list(confirmed), threshold)
    vocab = vocabulary_set()
    return SoundLabels(sound_id=sound_id, model=model, predicted=pairs, added=list(added),
                       removed=list(removed), confirmed=list(confirmed), final=final,
                       reviewed=bool(reviewed), threshold=threshold,
                       out_of_vocabulary=[t for t in final if t not in vocab])
