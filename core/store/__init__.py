"""The tag store: sounds, the model's predictions and people's corrections, in DuckDB.

    from core.store import TagStore, SoundInfo, SoundQuery
    store = TagStore()                       # $TAGGER_DB or data/tags.duckdb; created and migrated
    sound_id, is_new = store.add_sound(info, predictions=[("piano", 0.93)], model="name@version")
    store.label(sound_id, add=["bass"], user="ana")   # stored as the vocabulary's `bas`
"""

from core.store.connection import (
    RetryPolicy,
    StoreBusyError,
    StoreCorruptError,
    StoreError,
    StoreFullError,
    StoreReadOnlyError,
)
from core.store.models import (
    Correction,
    LabelRequest,
    LabelResult,
    Sound,
    SoundInfo,
    SoundLabels,
    SoundQuery,
    SoundRow,
)
from core.store.schema import SCHEMA_VERSION, SchemaVersionError
from core.store.store import TagStore, default_db_path, file_hash
from core.store.writes import SoundNotFoundError

__all__ = [
    "SCHEMA_VERSION", "Correction", "LabelRequest", "LabelResult", "RetryPolicy",
    "SchemaVersionError", "Sound", "SoundInfo", "SoundLabels", "SoundNotFoundError",
    "SoundQuery", "SoundRow", "StoreBusyError", "StoreCorruptError", "StoreError", "StoreFullError",
    "StoreReadOnlyError", "TagStore", "default_db_path",
    "file_hash",
]
