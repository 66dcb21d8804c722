"""TagStore: sounds, the model's predictions and people's corrections in one DuckDB file."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np

from core.settings import THRESHOLD, settings
from core.store import embeddings, queries, writes
from core.store.connection import Database, RetryPolicy, StoreError, fetch_one, file_fault
from core.store.labels import labels_from_row
from core.store.models import (
    ACTIONS,
    Correction,
    LabelRequest,
    LabelResult,
    Sound,
    SoundInfo,
    SoundLabels,
    SoundQuery,
    SoundRow,
)
from core.store.schema import migrate, utc_now
from core.store.vocabulary import normalize_tag, normalize_tags, suggest
from core.store.writes import Embedding, Prediction, SoundNotFoundError

HASH_CHUNK = 1 << 20


def default_db_path() -> Path:
    """$TAGGER_DB when set, else data/tags.duckdb in the project folder (core.settings)."""
    return settings().db


def file_hash(path: str | Path) -> str:
    """sha256 of a file's bytes: the content hash the store uses to recognise the same audio."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _selection(**overrides) -> dict:
    """Parameters of queries.SELECT_IDS: every filter off, all sounds, oldest first."""
    params = {"reviewed": None, "source": None, "tag": None, "since": None, "search": None,
              "threshold": THRESHOLD, "sort": "oldest", "limit": None, "offset": 0}
    params.update(overrides)
    return params


class TagStore:
    """Every operation opens the file briefly (see connection.py); safe to share across threads."""

    def __init__(self, path: str | Path | None = None, policy: RetryPolicy | None = None):
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise file_fault(self.path, e) or StoreError(f"{self.path}: {e}") from e
        self._db = Database(self.path, policy)
        self.schema_version = self._db.write(migrate)

    # --- sounds -------------------------------------------------------------------------------
    def add_sound(self, info: SoundInfo, predictions: Sequence[Prediction] = (),
                  model: str = "unknown", embedding: Embedding | None = None) -> tuple[int, bool]:
        """Store a sound, its predictions and its embedding in one transaction: (sound_id, is_new)."""
        return self.add_sounds([(info, predictions, model)], [embedding])[0]

    def add_sounds(self, items: Sequence[tuple[SoundInfo, Sequence[Prediction], str]],
                   embeddings: Sequence[Embedding | None] | None = None) -> list[tuple[int, bool]]:
        """Many (info, predictions, model) at once, with their embeddings (one per item, or
        None), in one transaction."""
        items = list(items)
        return self._db.write(lambda cur: writes.add_sounds(cur, items, utc_now(), embeddings))

    def add_predictions(self, items: Sequence[tuple[int, Sequence[Prediction], str]],
                        embeddings: Sequence[Embedding | None] | None = None) -> int:
        """A newer model's predictions (and embeddings) for stored sounds, beside the older ones
        (the feed then shows the latest); corrections are not touched. Returns how many sounds
        got predictions."""
        items = [(int(sid), preds, model) for sid, preds, model in items]
        missing = set(i for i, _, _ in items) - set(self.get_sounds([i for i, _, _ in items]))
        if missing:
            raise SoundNotFoundError(f"no sound with id {min(missing)} in {self.path}")
        vectors = [(sid, model, e) for (sid, _, model), e
                   in zip(items, embeddings or [None] * len(items), strict=True) if e is not None]

        def work(cur):
            written = writes.add_predictions(cur, items, utc_now())
            writes.add_embeddings(cur, vectors, utc_now())
            return written

        return self._db.write(work)

    # --- embeddings ---------------------------------------------------------------------------
    def add_embeddings(self, items: Sequence[tuple[int, str, Embedding]]) -> int:
        """(sound_id, model, vector) for stored sounds that lack that model's vector."""
        return self._db.write(lambda cur: writes.add_embeddings(cur, list(items), utc_now()))

    def embedding(self, sound_id: int, model: str) -> Embedding | None:
        return self._db.read(lambda cur: embeddings.one(cur, int(sound_id), model))

    def embedding_matrix(self, model: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids (n,) int64, vectors (n, size) float32) of every sound with `model`'s embedding."""
        return self._db.read(lambda cur: embeddings.matrix(cur, model))

    def embedding_counts(self) -> dict[str, int]:
        """model -> how many sounds have its embedding."""
        return dict(self._db.read(lambda cur: cur.execute(embeddings.COUNTS).fetchall()))

    def without_embedding(self, model: str) -> list[tuple[int, str | None]]:
        """(id, audio_path) of the sounds that lack `model`'s embedding, oldest first."""
        return self._db.read(lambda cur: cur.execute(embeddings.MISSING, {"m": model}).fetchall())

    def has_freesound_id(self, freesound_id: int) -> bool:
        return self._db.read(lambda cur: fetch_one(cur.execute(
            queries.HAS_FREESOUND_ID, {"f": int(freesound_id)}))[0])

    def mark_uploaded(self, sound_id: int, state: str, freesound_id: int | None = None,
                      username: str | None = None) -> Sound:
        """Record an upload to Freesound (its new id, the account, the state) or a later state."""
        params = {"id": int(sound_id), "f": None if freesound_id is None else int(freesound_id),
                  "user": username, "state": state, "at": utc_now()}
        self.get_sound(sound_id)
        self._db.write(lambda cur: cur.execute(queries.MARK_UPLOADED, params))
        return self.get_sound(sound_id)

    def get_sound(self, sound_id: int) -> Sound:
        row = self._db.read(lambda cur: fetch_one(cur.execute(
            queries.SELECT_SOUND, {"id": int(sound_id)})))
        if row is None:
            raise SoundNotFoundError(f"no sound with id {sound_id} in {self.path}")
        return _sound(row)

    def get_sounds(self, sound_ids: Sequence[int]) -> dict[int, Sound]:
        """Several sounds in one read (a page of cards): id -> Sound, for the ids that exist."""
        rows = self._db.read(lambda cur: cur.execute(
            queries.SELECT_SOUNDS, {"ids": [int(i) for i in sound_ids]}).fetchall())
        return {sound.id: sound for sound in map(_sound, rows)}

    def find_sound(self, ref: int | str | Path) -> Sound | None:
        """A store id (int or digits), the path of a file in the store, or a content hash."""
        if isinstance(ref, int) or (isinstance(ref, str) and ref.strip().isdigit()):
            try:
                return self.get_sound(int(ref))
            except SoundNotFoundError:
                return None
        path = Path(ref)
        resolved = str(path.resolve()) if path.exists() else str(ref)
        digest = file_hash(path) if path.is_file() else str(ref)
        row = self._db.read(lambda cur: fetch_one(cur.execute(
            queries.SOUND_BY_PATH_OR_HASH, {"path": resolved, "hash": digest})))
        return self.get_sound(row[0]) if row else None

    # --- corrections --------------------------------------------------------------------------
    def label(self, sound_id: int, add: Sequence[str] = (), remove: Sequence[str] = (),
              confirm: Sequence[str] = (), user: str = "anonymous",
              threshold: float = THRESHOLD) -> LabelResult:
        """Record a person's changes (normalized tags) and return them with the labels after."""
        request = LabelRequest(int(sound_id), add, remove, confirm, user)
        batch, result = _prepare(request)

        def work(cur):
            writes.add_corrections(cur, [batch], utc_now())
            return self._labels(cur, request.sound_id, threshold)

        labels = self._db.write(work)
        return LabelResult(**{**result.__dict__, "labels": labels})

    def take_back(self, sound_id: int, tag: str, user: str = "anonymous", threshold: float = THRESHOLD,
                  mine_only: bool = False) -> LabelResult | None:
        """Give `tag` back the state it had before its current person-made one: a removal put
        back restores the prediction (or the confirmation, or the addition) it removed; an
        addition taken back leaves no trace in the labels. Written as a new correction (a
        'reset' when there was no earlier state), so Undo takes it back in turn.

        None, and nothing written, when the tag has no person-made state, or when `mine_only`
        and that state was set by someone else.
        """
        norm = normalize_tag(tag)
        request = LabelRequest(int(sound_id), user=user)

        def work(cur):
            events = cur.execute(queries.TAG_EVENTS,
                                 {"sound_id": request.sound_id, "tag": norm.tag}).fetchall()
            if not events or events[0][0] == "reset" or (mine_only and events[0][1] != user):
                return None
            prior = next((a for a, _ in events if a != events[0][0]), "reset")
            writes.add_corrections(cur, [(request.sound_id, user,
                                          [(prior, norm.tag, tag, norm.in_vocabulary)])], utc_now())
            return prior, self._labels(cur, request.sound_id, threshold)

        done = self._db.write(work)
        if done is None:
            return None
        prior, labels = done
        return LabelResult(sound_id=request.sound_id, recorded=[(prior, norm.tag)],
                           out_of_vocabulary=[], ignored=[], suggestions={}, labels=labels)

    def label_many(self, requests: Sequence[LabelRequest]) -> list[LabelResult]:
        """Many sounds' changes in one transaction (labels are not re-read: `labels` is None)."""
        prepared = [_prepare(r) for r in requests]
        self._db.write(lambda cur: writes.add_corrections(cur, [b for b, _ in prepared],
                                                          utc_now()))
        return [r for _, r in prepared]

    def undo(self, sound_id: int, user: str = "anonymous") -> bool:
        """Take back `user`'s last correction of this sound (recorded as new 'undo' events)."""
        self.get_sound(sound_id)
        return self._db.write(lambda cur: writes.undo_last(cur, int(sound_id), user, utc_now()))

    def history(self, sound_id: int) -> list[Correction]:
        rows = self._db.read(lambda cur: cur.execute(
            queries.HISTORY, {"sound_id": int(sound_id)}).fetchall())
        return [_correction(r) for r in rows]

    # --- reading labels -----------------------------------------------------------------------
    def labels(self, sound_id: int, threshold: float = THRESHOLD) -> SoundLabels:
        return self._db.read(lambda cur: self._labels(cur, int(sound_id), threshold))

    def _labels(self, cur, sound_id: int, threshold: float) -> SoundLabels:
        row = fetch_one(cur.execute(queries.LABEL_ROWS,
                          {"ids": [sound_id], "threshold": threshold}))
        if row is None:
            raise SoundNotFoundError(f"no sound with id {sound_id} in {self.path}")
        return labels_from_row(row, threshold)

    def list_sounds(self, query: SoundQuery | None = None) -> list[SoundRow]:
        """One page of sounds, filtered and sorted in SQL."""
        query = query or SoundQuery()

        def work(cur):
            ids = [r[0] for r in cur.execute(queries.SELECT_IDS, _query_params(query)).fetchall()]
            return _rows_in_order(cur, ids, query.threshold)

        return [_sound_row(r, query.threshold) for r in self._db.read(work)]

    def list_ids(self, query: SoundQuery | None = None) -> list[int]:
        """The ids of every sound the query selects (limit and offset too), in its order:
        a review queue that stays put while its sounds are reviewed."""
        query = query or SoundQuery()
        return [r[0] for r in self._db.read(lambda cur: cur.execute(
            queries.SELECT_IDS, _query_params(query)).fetchall())]

    def rows_for(self, ids: Sequence[int], threshold: float = THRESHOLD) -> list[SoundRow]:
        """These sounds (a page of a queue) with their labels, in the order given; ids that are
        not in the store are left out."""
        ids = [int(i) for i in ids]
        rows = self._db.read(lambda cur: _rows_in_order(cur, ids, threshold))
        return [_sound_row(r, threshold) for r in rows]

    def reviewed_among(self, ids: Sequence[int]) -> set[int]:
        """Which of these sounds a person has reviewed (a correction of theirs is in effect)."""
        rows = self._db.read(lambda cur: cur.execute(
            queries.REVIEWED_AMONG, {"ids": [int(i) for i in ids]}).fetchall())
        return {r[0] for r in rows}

    def count_sounds(self, query: SoundQuery | None = None) -> int:
        query = query or SoundQuery()
        if (query.reviewed, query.tag, query.source, query.search) == (None,) * 4:  # cheap
            return self._db.read(lambda cur: fetch_one(cur.execute(queries.COUNT_ALL))[0])
        params = {**_query_params(query), "limit": None, "offset": 0}
        return self._db.read(lambda cur: fetch_one(cur.execute(queries.COUNT_IDS, params))[0])

    def label_rows(self, reviewed_only: bool = False, since: datetime | None = None,
                   threshold: float = THRESHOLD) -> list[SoundRow]:
        """Every sound (or the reviewed ones, or those added/changed since), oldest first."""
        params = selection_params(reviewed_only, since, threshold)
        rows = self._db.read(lambda cur: cur.execute(queries.SELECTED_ROWS, params).fetchall())
        return [_sound_row(r, threshold) for r in rows]

    def person_tags(self) -> list[str]:
        """Tags outside the vocabulary that people added or confirmed, sorted."""
        return [r[0] for r in self._db.read(lambda cur: cur.execute(
            queries.PERSON_TAGS).fetchall())]

    def read_sql(self, sql: str, params: dict, arrow: bool = False):
        """Rows (or a pyarrow Table) of one of core.store.queries' constant queries."""
        def work(cur):
            if arrow:
                return cur.sql(sql, params=params).to_arrow_table()
            return cur.execute(sql, params).fetchall()

        return self._db.read(work)

    def stats(self) -> dict:
        def work(cur):
            return fetch_one(cur.execute(queries.STATS)), cur.execute(
                queries.SOUNDS_BY_SOURCE).fetchall()

        (sounds, reviewed, corrections, undos, predictions), by_source = self._db.read(work)
        return {"sounds": sounds, "reviewed": reviewed, "corrections": corrections,
                "undos": undos, "predictions": predictions, "by_source": dict(by_source)}


def _prepare(request: LabelRequest) -> tuple[tuple, LabelResult]:
    """Normalize the typed tags: the batch to write and what the caller is told about it."""
    lists = dict(zip(ACTIONS, (request.add, request.remove, request.confirm), strict=True))
    normalized = {action: normalize_tags(list(tags)) for action, tags in lists.items()}
    clash = {n.tag for n in normalized["add"]} & {n.tag for n in normalized["remove"]}
    clash.discard("")
    if clash:
        raise ValueError(f"tags both added and removed: {sorted(clash)}")
    events = [(action, n.tag, n.original, n.in_vocabulary)
              for action, tags in normalized.items() for n in tags if not n.empty]
    oov = list(dict.fromkeys(tag for _, tag, _, in_vocab in events if not in_vocab))
    result = LabelResult(
        sound_id=request.sound_id, recorded=[(a, t) for a, t, _, _ in events],
        out_of_vocabulary=oov,
        ignored=[n.original for tags in normalized.values() for n in tags if n.empty],
        suggestions={t: suggest(t, 5) for t in oov}, labels=None)
    return (request.sound_id, request.user, events), result


def selection_params(reviewed_only: bool, since: datetime | None, threshold: float) -> dict:
    """SELECT_IDS parameters for an export's selection (all sounds, oldest first)."""
    return _selection(reviewed=True if reviewed_only else None, since=since, threshold=threshold)


def _query_params(query: SoundQuery) -> dict:
    tag = normalize_tag(query.tag).tag if query.tag else None
    search = (query.search or "").strip().lower() or None
    return _selection(reviewed=query.reviewed, source=query.source, tag=tag or None, search=search,
                      threshold=query.threshold, sort=query.sort, limit=query.limit,
                      offset=query.offset)


def _rows_in_order(cur, ids: list[int], threshold: float) -> list[tuple]:
    rows = cur.execute(queries.LABEL_ROWS, {"ids": ids, "threshold": threshold}).fetchall()
    by_id = {r[queries.COL_ID]: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


def _sound(row: tuple) -> Sound:
    d = dict(zip(queries.SOUND_COLUMNS, row, strict=True))
    d["original_tags"] = tuple(d["original_tags"] or ())
    d["patch_start"] = d["patch_start"] or 0
    return Sound(**d)


def _correction(row: tuple) -> Correction:
    d = dict(zip(queries.HISTORY_COLUMNS, row, strict=True))
    d["undone"] = bool(d["undone"])
    return Correction(**d)


def _sound_row(row: tuple, threshold: float) -> SoundRow:
    q = queries
    return SoundRow(id=row[q.COL_ID], source=row[q.COL_SOURCE], name=row[q.COL_NAME],
                    freesound_id=row[q.COL_FREESOUND_ID], username=row[q.COL_USERNAME],
                    duration_s=row[q.COL_DURATION], audio_path=row[q.COL_AUDIO_PATH],
                    added_at=row[q.COL_ADDED_AT], labels=labels_from_row(row, threshold),
                    uncertainty=row[queries.COL_UNCERTAINTY])
