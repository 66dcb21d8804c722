"""What the tag store holds and returns: plain frozen dataclasses, no database code."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.settings import THRESHOLD

SOURCES = ("freesound", "upload", "folder")
ACTIONS = ("add", "remove", "confirm")  # what a person can do to a tag; "undo" takes one back
# "reset" (written by TagStore.take_back) gives a tag back to the model: no person's state left.
# "suspect" (likely mislabeled first) is ordered by core.suspects; SQL lists those newest first.
SORTS = ("newest", "oldest", "uncertain", "suspect")


@dataclass(frozen=True)
class SoundInfo:
    """A sound as the caller describes it when adding it to the store."""

    source: str  # "freesound", "upload" or "folder"
    name: str  # title or file name, shown to people
    audio_path: str | None  # where its audio file is stored (None: not kept)
    content_hash: str  # sha256 of the audio file's bytes (file_hash): one row per distinct audio
    duration_s: float | None  # of the whole file
    freesound_id: int | None = None  # Freesound's sound id, for source "freesound"
    username: str | None = None  # the Freesound uploader
    license: str | None = None  # licence URL or name
    url: str | None = None  # the sound's page
    description: str | None = None  # the uploader's description, verbatim
    created_at: str | None = None  # Freesound's own 'created' timestamp, verbatim
    original_tags: tuple[str, ...] = ()  # the uploader's own Freesound tags, verbatim
    patch_start: int = 0  # first frame of the 96-frame patch the model looked at
    analysed_s: float | None = None  # seconds of audio analysed (long files: the first minute)
    audio_kind: str | None = None  # Freesound sounds: "preview" or "original" (which was stored)

    def __post_init__(self) -> None:
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if not self.content_hash:
            raise ValueError(f"sound {self.name!r} has no content_hash")
        object.__setattr__(self, "original_tags", tuple(self.original_tags))
        for value in (self.name, self.audio_path, self.username, self.license, self.url,
                      self.description, self.created_at, *self.original_tags):
            if value is not None:
                _check_text(value)


@dataclass(frozen=True)
class Sound(SoundInfo):
    """A stored sound: everything in SoundInfo plus its store id and when it was added (UTC)."""

    id: int = field(default=0, kw_only=True)  # the store's sound id
    added_at: datetime | None = field(default=None, kw_only=True)  # when it was stored (UTC)
    upload_state: str | None = field(default=None, kw_only=True)  # on Freesound, once uploaded
    uploaded_at: datetime | None = field(default=None, kw_only=True)  # when it was uploaded (UTC)


@dataclass(frozen=True)
class SoundQuery:
    """Which sounds to list, in which order, and which page."""

    reviewed: bool | None = None  # True: touched by a person; False: not yet; None: both
    tag: str | None = None  # among the final labels at `threshold` (normalized first)
    source: str | None = None  # "freesound", "upload", "folder" or None for all
    search: str | None = None  # text in the name, uploader or description (any case)
    sort: str = "newest"  # "newest" (added last first), "oldest", "uncertain" (least sure first)
    limit: int | None = 50  # page size (None: all)
    offset: int = 0  # rows skipped before the page
    threshold: float = THRESHOLD  # score from which a prediction counts as a label

    def __post_init__(self) -> None:
        if self.sort not in SORTS:
            raise ValueError(f"sort must be one of {SORTS}, got {self.sort!r}")
        if self.source is not None and self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES} or None, got {self.source!r}")


@dataclass(frozen=True)
class SoundLabels:
    """A sound's current labels: the model's proposals and a person's changes."""

    sound_id: int  # the store's sound id
    model: str | None  # model (name@version) of the predictions shown
    predicted: list[tuple[str, float]]  # stored top-K, highest score first
    added: list[str]  # tags a person added (still in effect)
    removed: list[str]  # tags a person removed
    confirmed: list[str]  # tags a person confirmed
    final: list[str]  # predicted >= threshold (or confirmed), plus added, minus removed
    reviewed: bool  # a person's change is in effect
    threshold: float  # the score threshold used for `final`
    out_of_vocabulary: list[str] = field(default_factory=list)  # final tags outside the 1000


@dataclass(frozen=True)
class SoundRow:
    """One line of a sound list: the sound's main facts and its labels."""

    id: int  # the store's sound id
    source: str  # "freesound", "upload" or "folder"
    name: str  # title or file name
    freesound_id: int | None  # Freesound's id, when from Freesound
    username: str | None  # Freesound uploader
    duration_s: float | None  # whole file
    audio_path: str | None  # stored audio file
    added_at: datetime  # when stored (UTC)
    labels: SoundLabels  # predictions, corrections and final labels
    uncertainty: float | None  # min |score - threshold| over predictions (small: unsure)

    @property
    def final(self) -> list[str]:
        return self.labels.final

    @property
    def reviewed(self) -> bool:
        return self.labels.reviewed

    @property
    def predicted(self) -> list[tuple[str, float]]:
        return self.labels.predicted


@dataclass(frozen=True)
class Correction:
    """One event of a sound's history; nothing in the history is ever changed or deleted."""

    id: int  # event id, increasing
    batch: int  # events recorded by one label()/undo() call share it
    sound_id: int  # the store's sound id
    user: str  # who
    at: datetime  # when (UTC)
    action: str  # "add", "remove", "confirm", "reset" or "undo"
    tag: str  # normalized tag
    original: str  # what the person typed, verbatim
    in_vocabulary: bool  # tag is one of the 1000 COALA tags
    undone: bool  # a later undo took this event back
    undoes: int | None = None  # for "undo" events: the batch taken back


@dataclass(frozen=True)
class LabelRequest:
    """A person's changes to one sound (what label() takes)."""

    sound_id: int  # the store's sound id
    add: tuple[str, ...] = ()  # tags to add, as typed
    remove: tuple[str, ...] = ()  # tags to remove, as typed
    confirm: tuple[str, ...] = ()  # tags to confirm, as typed
    user: str = "anonymous"  # who

    def __post_init__(self) -> None:
        for name in ("add", "remove", "confirm"):
            value = getattr(self, name)
            if isinstance(value, str):
                raise TypeError(f"{name} takes a list of tags, not a string: {value!r}")
            object.__setattr__(self, name, tuple(value))
        _check_text(self.user)


@dataclass(frozen=True)
class LabelResult:
    """What label() recorded, what it made of the typed tags, and the labels after."""

    sound_id: int  # the store's sound id
    recorded: list[tuple[str, str]]  # (action, tag) events written, in order
    out_of_vocabulary: list[str]  # recorded tags outside the 1000 (kept, marked)
    ignored: list[str]  # typed strings that normalized to nothing (punctuation, stop-words)
    suggestions: dict[str, list[str]]  # out-of-vocabulary tag -> close vocabulary tags
    labels: SoundLabels | None  # the sound's labels after the change (None from label_many)


def _check_text(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError(f"text is not valid Unicode (cannot be stored): {value!r}") from e
