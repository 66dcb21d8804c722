"""Every setting of the command line and the app, in one frozen dataclass resolved from the
environment: where the tag store, the audio, the exports, the models and the runs live, the
default threshold, how many predictions a stored sound keeps, and who makes corrections.

    from core.settings import settings
    s = settings()                 # $TAGGER_DB, $TAGGER_AUDIO, ... read once per environment
    s.db, s.audio_dir, s.threshold
    s.with_db("other.duckdb")      # `--db FILE`: the audio folder and request counter follow it

Every CLI default and the app (app/settings.py) ask this module, so a cron job and the app
given the same environment use the same files: above all the same Freesound request counter,
which lives in the audio folder next to the database.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "tags.duckdb"
THRESHOLD = 0.5  # calibrated score from which a predicted tag is shown and counts as a label
PREDICTIONS_KEPT = 20  # a stored sound keeps its top predictions; the rest score lower still
DEFAULT_USER = "local"  # who makes corrections when $TAGGER_USER is not set
REQUEST_COUNTER = ".freesound-requests.json"  # in the audio folder: recent Freesound requests
API_URL = "https://freesound.org/apiv2"  # the real Freesound API
# Every variable read here: a change to any of them resolves the settings again.
ENV = ("TAGGER_DB", "TAGGER_AUDIO", "TAGGER_EXPORTS", "TAGGER_SOUNDS", "TAGGER_MODEL",
       "TAGGER_MODELS", "TAGGER_RUNS", "TAGGER_USER", "FREESOUND_API_URL")


@dataclass(frozen=True)
class Settings:
    db: Path  # the DuckDB tag store: $TAGGER_DB, else data/tags.duckdb
    db_set: bool  # whether $TAGGER_DB names it (`tag` then stores what it tags, as with --db)
    audio: Path | None  # $TAGGER_AUDIO; None: the folder `audio` beside the database
    exports: Path | None  # $TAGGER_EXPORTS; None: the folder `exports` beside the database
    sounds_dir: Path  # folders of sounds the app offers to load: $TAGGER_SOUNDS, else data/
    model: Path | None  # $TAGGER_MODEL, overriding the registry; None: the active model
    models_dir: Path  # the model registry: $TAGGER_MODELS, else the parent of $TAGGER_MODEL, else models/
    runs_dir: Path  # training runs: $TAGGER_RUNS, else runs/
    user: str  # who makes corrections: $TAGGER_USER, else "local"
    api_url: str  # Freesound API base: $FREESOUND_API_URL, else the real API
    threshold: float = THRESHOLD  # default score from which a prediction counts as a label
    predictions_kept: int = PREDICTIONS_KEPT  # predictions stored per sound

    @property
    def audio_dir(self) -> Path:
        """Downloaded previews, kept uploads (in uploads/) and the request counter."""
        return self.audio or self.db.parent / "audio"

    @property
    def exports_dir(self) -> Path:
        """The only folder the app writes exports to."""
        return self.exports or self.db.parent / "exports"

    @property
    def request_counter(self) -> Path:
        """Freesound requests of the last 24 h, shared by every process using this audio folder."""
        return self.audio_dir / REQUEST_COUNTER

    def with_db(self, db: str | Path | None) -> Settings:
        """The settings for another database (`--db FILE`); the folders that follow it follow."""
        return replace(self, db=Path(db), db_set=True) if db else self


def settings() -> Settings:
    """The settings of the current environment (resolved once for each state of it)."""
    return _resolve(tuple(os.environ.get(name) or None for name in ENV))


@lru_cache(maxsize=8)
def _resolve(values: tuple[str | None, ...]) -> Settings:
    env = dict(zip(ENV, values, strict=True))
    model = Path(env["TAGGER_MODEL"]) if env["TAGGER_MODEL"] else None
    models = (Path(env["TAGGER_MODELS"]) if env["TAGGER_MODELS"]
              else model.parent if model else PROJECT_ROOT / "models")
    return Settings(db=Path(env["TAGGER_DB"] or DEFAULT_DB), db_set=bool(env["TAGGER_DB"]),
                    audio=_path(env["TAGGER_AUDIO"]), exports=_path(env["TAGGER_EXPORTS"]),
                    sounds_dir=Path(env["TAGGER_SOUNDS"] or PROJECT_ROOT / "data"),
                    model=model, models_dir=models,
                    runs_dir=Path(env["TAGGER_RUNS"] or PROJECT_ROOT / "runs"),
                    user=env["TAGGER_USER"] or DEFAULT_USER,
                    api_url=env["FREESOUND_API_URL"] or API_URL)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
