"""`python -m core similar SOUND [--k 10] [--json]`: the stored sounds most like SOUND.

SOUND is a store id, the path of a stored file or a content hash (as for `label`); a file that
is not in the store is tagged first and compared as it is, without storing it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.commands.common import add_model_options, add_threshold_option, fail, model_dir
from core.modeldir import ModelNotFoundError
from core.store import StoreError
from core.store.cli import add_db_option, open_store


def register(sub) -> None:
    p = sub.add_parser("similar", help="the stored sounds most similar to a sound (embeddings)")
    p.add_argument("sound", metavar="SOUND",
                   help="store id, the path of a stored file, or an audio file to compare")
    p.add_argument("--k", type=int, default=10, help="how many neighbours (default 10)")
    add_threshold_option(p)
    p.add_argument("--json", action="store_true",
                   help="one JSON object per neighbour, nearest first: sound_id, name, similarity, tags")
    add_db_option(p)
    add_model_options(p)
    p.set_defaults(run=run)


def run(args) -> int:
    from core.modeldir import read_model_info
    from core.similar import EmbeddingIndex, embedding_model, neighbours

    if args.k < 1:
        return fail("--k must be at least 1")
    try:
        store = open_store(args)
        directory = model_dir(args)
        model = embedding_model(store.embedding_counts(), read_model_info(directory).label)
        sound = store.find_sound(args.sound)
        query, exclude, what = _query(store, sound, args, directory, model)
        if query is None:
            return fail(what, 1)
        index = EmbeddingIndex.from_store(store, model)
        found = neighbours(store, index, query, args.k, exclude, args.threshold)
    except (ModelNotFoundError, StoreError, ValueError, OSError) as e:
        return fail(str(e))
    _note_missing(store, model, len(index))
    if args.json:
        for n in found:
            print(json.dumps(n.to_json(), ensure_ascii=False))
        return 0
    print(f"{what} ({model}; {len(index)} sounds searched)")
    for rank, n in enumerate(found, 1):
        print(f"{rank:3d}. {n.similarity:.3f}  sound {n.sound_id}  {n.name}  "
              f"[{', '.join(n.tags) or '-'}]")
    return 0


def _query(store, sound, args, directory: Path, model: str):
    """(vector, ids to leave out, a line on the query) or (None, None, why there is none)."""
    from core.embed import ensure_embedding
    from core.tagger import Tagger

    if sound is not None:
        vector = store.embedding(sound.id, model)
        if vector is None:  # stored before embeddings were kept: compute it now
            tagger = Tagger(directory, args.device)
            vector = ensure_embedding(store, tagger, sound.id) if tagger.model_label == model else None
        if vector is None:
            return None, None, (f"sound {sound.id} has no embedding from {model} and its audio "
                                "cannot be read: run `python -m core embed`")
        return vector, [sound.id], f"sound {sound.id}: {sound.name}"
    path = Path(args.sound)
    if not path.is_file():
        return None, None, (f"no sound {args.sound!r} in {store.path} and no such file (give a "
                            "store id, the path of a stored file, or an audio file)")
    result = Tagger(directory, args.device).tag_file(path, top_k=1)
    if not result.ok:
        return None, None, result.error
    return result.embedding, [], f"{path.name} (not in the store)"


def _note_missing(store, model: str, searched: int) -> None:
    total = store.count_sounds()
    if searched < total:
        print(f"note: {total - searched} of {total} sounds have no embedding from {model} yet and "
              "were not searched: `python -m core embed` adds them", file=sys.stderr)
