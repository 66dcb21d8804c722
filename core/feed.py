"""The feed job: the newest Freesound sounds (or a folder of sounds) -> audio -> tags -> store.

Safe to stop at any moment and to run again: previews are written to a temporary file and
renamed, a sound is stored together with its predictions in one transaction, and sounds already
in the store are skipped, so a rerun picks up where the last one stopped. Used by
`python -m core feed` (cron, the command line) and by the app's "fetch now" button, which passes
`on_progress` and `should_stop`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from core.account import AccountClient
from core.audio import find_audio_files
from core.freesound import (
    DEFAULT_API_URL,
    PREVIEW_FIELD,
    ApiKeyRejectedError,
    ClientConfig,
    FreesoundClient,
    FreesoundError,
    RateLimitError,
)
from core.library import sound_info
from core.oauth import Account, OAuthError
from core.settings import PREDICTIONS_KEPT, REQUEST_COUNTER, settings
from core.store import StoreError, TagStore, file_hash
from core.tagger import Tagger

RATE_STATE_FILE = REQUEST_COUNTER  # in the audio folder: recent API request times
CREDITS_FILE = "credits.json"  # optional, in an ingested folder: metadata per file
SINCE_UNITS = {"m": ("MINUTES", 1), "h": ("HOURS", 1), "d": ("DAYS", 1), "w": ("DAYS", 7)}
STOPPING_ERRORS = (RateLimitError, ApiKeyRejectedError, OAuthError)  # end the job, not one sound
AUDIO_KINDS = ("preview", "original")  # what the feed downloads; "original" needs a sign-in

Progress = Callable[[int, int, str], None]  # (done, total, message)


@dataclass(frozen=True)
class FeedConfig:
    limit: int | None = 50  # newest search results (or folder files) looked at; None: all
    since: str | None = None  # only sounds uploaded this recently: "30m", "12h", "3d", "2w"
    query: str = ""  # Freesound text query ("": every sound)
    audio_dir: Path = field(default_factory=lambda: settings().audio_dir)  # previews: <freesound id>.<ext>
    top_k: int = PREDICTIONS_KEPT  # predictions stored per sound
    preview: str = PREVIEW_FIELD  # which of the `previews` to download
    batch: int = 8  # sounds fetched, then tagged and stored together
    page_size: int = 150  # search results per API request (150 at most)
    audio: str = "preview"  # "preview" (lossy ogg) or "original" (the uploaded file; OAuth2 only)

    def __post_init__(self) -> None:
        if self.audio not in AUDIO_KINDS:
            raise ValueError(f"audio must be one of {AUDIO_KINDS}, not {self.audio!r}")


@dataclass(frozen=True)
class FeedSummary:
    fetched: int  # sounds looked at to the end: new + skipped + failed
    new: int  # stored by this run, with their predictions
    skipped: int  # already in the store (same Freesound id, path or audio)
    failed: int  # not downloaded, decoded or tagged; tried again on the next run
    stopped_reason: str | None = None  # why the job ended early (rate limit, key, Ctrl-C), or None
    errors: tuple[str, ...] = field(default=())  # one line per failed sound

    def line(self) -> str:
        text = f"fetched {self.fetched}, new {self.new}, skipped {self.skipped}, failed {self.failed}"
        return text + (f"; stopped: {self.stopped_reason}" if self.stopped_reason else "")


def since_filter(since: str) -> str:
    """'3d' -> 'created:[NOW-3DAYS TO NOW]' (Solr date maths, as the search `filter` takes it)."""
    match = re.fullmatch(r"\s*(\d+)\s*([mhdw])\s*", since.lower())
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"--since takes a positive number and a unit m, h, d or w "
                         f"(e.g. 3d), not {since!r}")
    unit, factor = SINCE_UNITS[match.group(2)]
    return f"created:[NOW-{int(match.group(1)) * factor}{unit} TO NOW]"


@dataclass
class _Item:
    label: str  # for messages: "freesound 123" or a file name
    meta: dict  # SoundInfo fields known before the audio is fetched
    path: Path  # where the audio is (or will be, once downloaded)
    url: str | None = None  # preview to download; None for a local file
    content_hash: str = ""  # sha256 of the audio, once fetched


class _Listing:
    """The Freesound search as a stream of items; `total` is known after the first page."""

    def __init__(self, client: FreesoundClient, config: FeedConfig):
        self.client, self.config = client, config
        self.total = config.limit or 0

    def __iter__(self) -> Iterator[_Item]:
        cfg, seen = self.config, 0
        pages = self.client.search(query=cfg.query, sort="created_desc",
                                   filter=since_filter(cfg.since) if cfg.since else None,
                                   page_size=min(cfg.limit or cfg.page_size, cfg.page_size))
        for page in pages:
            self.total = min(page.count, cfg.limit) if cfg.limit else page.count
            for sound in page.sounds:
                if cfg.limit and seen >= cfg.limit:
                    return
                seen += 1
                yield self._item(sound)
            if cfg.limit and seen >= cfg.limit:
                return

    def _item(self, sound) -> _Item:
        meta = {"source": "freesound", "freesound_id": sound.id, "name": sound.name,
                "username": sound.username or None, "license": sound.license or None,
                "url": sound.url, "description": sound.description, "created_at": sound.created,
                "original_tags": sound.tags, "audio_kind": self.config.audio}
        if self.config.audio == "original":
            url = f"{self.client.api_url}/sounds/{int(sound.id)}/download/"
            suffix = "." + (re.sub(r"[^a-z0-9]", "", (sound.type or "").lower()) or "wav")
            return _Item(f"freesound {sound.id}", meta,
                         Path(self.config.audio_dir) / f"{sound.id}{suffix}", url=url)
        try:
            url = sound.preview_url(self.config.preview)
        except FreesoundError:
            url = ""  # fails in _fetch, with the reason
        suffix = Path(urlsplit(url).path).suffix.lower() or ".ogg"
        path = Path(self.config.audio_dir) / f"{sound.id}{suffix}"
        return _Item(f"freesound {sound.id}", meta, path, url=url)


def make_client(key: str | None, api_url: str = DEFAULT_API_URL, audio_dir: Path | None = None,
                on_wait: Callable[[str], None] | None = None) -> FreesoundClient:
    """A client whose daily request budget is remembered next to the previews, across runs
    (default: the settings' audio folder, which follows the database)."""
    config = ClientConfig(api_url=api_url, rate_state=_counter(audio_dir))
    return FreesoundClient(key, config, on_wait=on_wait)


def make_account_client(account: Account, audio_dir: Path | None = None,
                        on_wait: Callable[[str], None] | None = None) -> AccountClient:
    """A signed-in client (search and original files), sharing make_client's request budget."""
    config = ClientConfig(api_url=account.app.api_url, rate_state=_counter(audio_dir))
    return AccountClient(account, config, on_wait=on_wait)


def _counter(audio_dir: Path | None) -> Path:
    return Path(audio_dir) / REQUEST_COUNTER if audio_dir else settings().request_counter


def fetch_freesound(client: FreesoundClient, store: TagStore, tagger: Tagger,
                    config: FeedConfig = FeedConfig(), on_progress: Progress | None = None,
                    should_stop: Callable[[], bool] | None = None) -> FeedSummary:
    """The newest sounds on Freesound, newest first, into the store with their predictions."""
    listing = _Listing(client, config)
    return _Run(store, tagger, config, on_progress, should_stop, client).consume(
        listing, lambda: listing.total)


def ingest_folder(folder: str | Path, store: TagStore, tagger: Tagger,
                  config: FeedConfig = FeedConfig(limit=None), on_progress: Progress | None = None,
                  should_stop: Callable[[], bool] | None = None) -> FeedSummary:
    """A folder of sounds (recursively), stored as source "folder"; `credits.json` adds metadata."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No such folder: {folder}")
    credits = load_credits(folder)
    files = find_audio_files([folder])[: config.limit or None]
    items = (_folder_item(f, credits.get(f.relative_to(folder).as_posix(), {})) for f in files)
    return _Run(store, tagger, config, on_progress, should_stop).consume(items, lambda: len(files))


def load_credits(folder: Path) -> dict[str, dict]:
    """`credits.json` of a folder: {"sounds": [{"file": ..., "name": ..., ...}]} -> file -> fields."""
    path = folder / CREDITS_FILE
    if not path.is_file():
        return {}
    try:
        sounds = json.loads(path.read_text(encoding="utf-8"))["sounds"]
        return {str(s["file"]): s for s in sounds}
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"{path} is not a credits file ({{'sounds': [{{'file': ...}}]}}): {e}") from e


def _folder_item(path: Path, credit: dict) -> _Item:
    meta = {"source": "folder", "name": credit.get("name") or path.stem,
            "freesound_id": credit.get("freesound_id"), "username": credit.get("username"),
            "license": credit.get("license"), "url": credit.get("url"),
            "description": credit.get("description"),
            "original_tags": tuple(credit.get("tags") or ())}
    return _Item(path.name, meta, path.resolve())


class _Run:
    """One pass over a stream of items: skip, fetch, tag in batches, store, report."""

    def __init__(self, store: TagStore, tagger: Tagger, config: FeedConfig,
                 on_progress: Progress | None, should_stop: Callable[[], bool] | None,
                 client: FreesoundClient | None = None):
        self.store, self.tagger, self.config, self.client = store, tagger, config, client
        self.on_progress, self.should_stop = on_progress, should_stop
        self.counts = {"new": 0, "skipped": 0, "failed": 0}
        self.errors: list[str] = []
        self.total: Callable[[], int] = lambda: 0

    def consume(self, items: Iterable[_Item], total: Callable[[], int]) -> FeedSummary:
        self.total = total
        try:
            pending, stopped = self._walk(items)
            self._tag_and_store(pending)  # what was fetched before a stop is still stored
        except StoreError as e:  # the store stayed busy or failed: stop, keeping what is stored
            return self._summary(f"the tag store failed: {e}")
        except KeyboardInterrupt:
            return self._summary("interrupted (Ctrl-C); everything stored so far is kept")
        return self._summary(stopped)

    def _walk(self, items: Iterable[_Item]) -> tuple[list[_Item], str | None]:
        """Skip or fetch each item, tagging a batch whenever one is full: (unstored, stop)."""
        pending: list[_Item] = []
        try:
            for item in items:
                if self._already_stored(item):
                    self._done("skipped", f"{item.label}: already stored")
                elif self.should_stop and self.should_stop():
                    return pending, "stopped on request"
                elif self._fetch(item):
                    pending.append(item)
                if len(pending) >= self.config.batch:
                    self._tag_and_store(pending)
                    pending = []
        except FreesoundError as e:  # the listing failed, or a limit or the key ends the job
            return pending, str(e)
        return pending, None

    def _already_stored(self, item: _Item) -> bool:
        fid = item.meta.get("freesound_id")
        if item.url is not None:  # from Freesound: the id says it all, nothing to download
            return self.store.has_freesound_id(fid)
        return self.store.find_sound(item.path) is not None  # same path, or same audio

    def _fetch(self, item: _Item) -> bool:
        try:
            if item.url is None:
                item.content_hash = file_hash(item.path)
            else:
                if not item.url:
                    raise FreesoundError(f"sound {item.meta['freesound_id']} has no preview URL")
                cap = (self.client.config.max_original_bytes
                       if item.meta.get("audio_kind") == "original" else None)
                item.content_hash = self.client.download(item.url, item.path, cap).sha256
            return True
        except STOPPING_ERRORS:
            raise
        except (FreesoundError, OSError) as e:
            self._fail(item, str(e))
            return False

    def _tag_and_store(self, items: list[_Item]) -> None:
        if not items:
            return
        results = list(self.tagger.tag_files([i.path for i in items], top_k=self.config.top_k))
        ready = []
        for item, result in zip(items, results, strict=True):
            if result.ok:
                info = sound_info(item.path, result, item.content_hash, **item.meta)
                ready.append((item, info, result.tags, result.embedding))
            else:
                self._fail(item, result.error or "could not be tagged")
        if not ready:
            return
        stored = self.store.add_sounds([(info, preds, self.tagger.model_label)
                                        for _, info, preds, _ in ready],
                                       [vector for *_, vector in ready])
        for (item, *_), (sound_id, is_new) in zip(ready, stored, strict=True):
            if is_new:
                self._done("new", f"{item.label}: stored as sound {sound_id}")
            else:
                self._forget_duplicate(item, sound_id)
                self._done("skipped", f"{item.label}: same audio as sound {sound_id}")

    def _forget_duplicate(self, item: _Item, sound_id: int) -> None:
        """A downloaded preview whose audio is already stored under another file: drop the copy."""
        if item.url is not None and self.store.get_sound(sound_id).audio_path != str(item.path):
            item.path.unlink(missing_ok=True)

    def _fail(self, item: _Item, reason: str) -> None:
        if item.url is not None:
            item.path.unlink(missing_ok=True)  # a preview that cannot be tagged is not kept
        self.errors.append(f"{item.label}: {reason}")
        self._done("failed", f"{item.label}: FAILED {reason}")

    def _done(self, outcome: str, message: str) -> None:
        self.counts[outcome] += 1
        if self.on_progress:
            done = sum(self.counts.values())
            self.on_progress(done, max(self.total(), done), message)

    def _summary(self, stopped: str | None) -> FeedSummary:
        return FeedSummary(fetched=sum(self.counts.values()), **self.counts, stopped_reason=stopped,
                           errors=tuple(self.errors))

