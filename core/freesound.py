"""A Freesound API v2 client over `requests`: search, sound details, preview downloads.

Authentication is `Authorization: Token <key>`, sent only to the API's own origin (scheme, host,
port), on every request and every redirect: previews usually live on another domain (a CDN) and
never see the key. The key is never put in a URL, a message, a repr or a log line.

Freesound allows 60 requests a minute and 2,000 a day. `RateLimiter` keeps API requests under
both with sliding windows: it waits for the minute window and raises `RateLimitError` when the
day's budget is spent. A 429 is honoured through its `Retry-After` (up to a cap); 5xx answers and
network errors are retried with exponential backoff; every request has a timeout.
"""

from __future__ import annotations

import email.utils
import fcntl
import hashlib
import json
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.auth import AuthBase

from core.files import atomic_path, write_atomic
from core.settings import API_URL as DEFAULT_API_URL

API_KEY_ENV = "FREESOUND_API_KEY"
KEY_HELP = (f"set {API_KEY_ENV} in the environment (or in .streamlit/secrets.toml for the app); "
            "get a key at https://freesound.org/apiv2/apply")
SEARCH_FIELDS = ("id", "name", "tags", "username", "license", "created", "duration", "previews",
                 "url", "description", "type")
MAX_PAGE_SIZE = 150  # the API's largest page
PREVIEW_FIELD = "preview-hq-ogg"
PREVIEW_FALLBACKS = ("preview-hq-ogg", "preview-lq-ogg", "preview-hq-mp3", "preview-lq-mp3")
MINUTE_S = 60.0
DAY_S = 24 * 3600.0
CHUNK_BYTES = 64 * 1024
DETAIL_CHARS = 300  # longest piece of a non-JSON error body quoted in a message


class FreesoundError(Exception):
    """A Freesound request that failed; the message carries the API's own `detail`."""


class MissingApiKeyError(FreesoundError):
    pass


class ApiKeyRejectedError(FreesoundError):
    pass


class NotFoundError(FreesoundError):
    pass


class RateLimitError(FreesoundError):
    """The day's request budget is spent, or the server asked for a longer wait than allowed."""


class ApiResponseError(FreesoundError):
    """The server answered, but not with the JSON the API documents."""


class DownloadError(FreesoundError):
    """A preview that could not be downloaded whole (too large, truncated, cut off)."""


class NetworkError(FreesoundError):
    """Timeouts, refused connections and 5xx answers that outlasted the retries."""


@dataclass(frozen=True)
class ClientConfig:
    api_url: str = DEFAULT_API_URL  # every path is relative to it: <api_url>/search/, /sounds/<id>/
    timeout_s: float = 20.0  # connect and read timeout of every request (and of each read)
    retries: int = 3  # further attempts after a 5xx, a 429 or a network error
    backoff_s: float = 1.0  # first wait between attempts; doubles after each
    max_retry_wait_s: float = 60.0  # longest Retry-After honoured; a longer one stops the caller
    max_preview_bytes: int = 20 * 2**20  # a preview larger than this is refused
    max_original_bytes: int = 1024 * 2**20  # an original file (OAuth2 download) larger is refused
    per_minute: int = 60  # API requests in any sliding minute (Freesound's limit)
    per_day: int = 2000  # API requests in any sliding day (Freesound's limit)
    rate_state: Path | None = None  # JSON file of recent request times, shared across runs
    user_agent: str = "freesound-tagger/0.1"  # sent with every request


def resolve_api_key(key: str | None = None, environ: dict | None = None) -> str:
    """The key given (a Streamlit secret, say), else $FREESOUND_API_KEY; a clear error if none."""
    key = (key or (os.environ if environ is None else environ).get(API_KEY_ENV) or "").strip()
    if not key:
        raise MissingApiKeyError(f"No Freesound API key: {KEY_HELP}")
    return key


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), parts.port or default


class ApiKeyAuth(AuthBase):
    """`Authorization: Token <key>` for the API origin only; removed for any other origin."""

    def __init__(self, key: str, api_url: str):
        self._key = key
        self._origin = _origin(api_url)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if _origin(request.url or "") == self._origin:
            request.headers["Authorization"] = f"Token {self._key}"
        else:
            request.headers.pop("Authorization", None)
        return request

    def __repr__(self) -> str:
        return f"ApiKeyAuth(origin={self._origin[1]!r}, key=<hidden>)"


class _ApiSession(requests.Session):
    """A session that re-checks the origin of every redirect target before sending the key."""

    def rebuild_auth(self, prepared_request, response) -> None:
        super().rebuild_auth(prepared_request, response)
        if isinstance(self.auth, ApiKeyAuth):
            self.auth(prepared_request)


class RateLimiter:
    """Sliding windows over request start times: waits out the minute, stops at the day.

    With a state file the windows are shared by every process using it (the app, a cron job, the
    CLI): each request re-reads the file and appends to it under an exclusive lock, so processes
    fetching at the same time count each other's requests.
    """

    def __init__(self, per_minute: int, per_day: int, state_path: Path | None = None,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        self.per_minute, self.per_day = per_minute, per_day
        self.state_path = Path(state_path) if state_path else None
        self.clock, self.sleep = clock, sleep
        self.times: deque[float] = deque()  # filled from the state file on each request
        self._thread_lock = threading.Lock()

    def acquire(self, on_wait: Callable[[str], None] | None = None) -> None:
        while True:
            with self._exclusive():
                wait = self._take_or_wait()
            if wait <= 0:
                return
            if on_wait:
                on_wait(f"waiting {wait:.0f} s for the limit of {self.per_minute} requests a minute")
            self.sleep(wait)

    def _take_or_wait(self) -> float:
        """Record a request now and return 0, or return how long to wait for the minute window."""
        if self.state_path:
            self.times = deque(self._load())  # what the other processes did meanwhile
        now = self.clock()
        while self.times and self.times[0] <= now - DAY_S:
            self.times.popleft()
        if len(self.times) >= self.per_day:
            hours = (self.times[0] + DAY_S - now) / 3600
            raise RateLimitError(f"Stopped at Freesound's limit of {self.per_day} requests a day; "
                                 f"the next request is allowed in {hours:.1f} h")
        recent = [t for t in self.times if t > now - MINUTE_S]
        if len(recent) >= self.per_minute:
            return recent[-self.per_minute] + MINUTE_S - now
        self.times.append(now)
        self._save()
        return 0.0

    @contextmanager
    def _exclusive(self):
        """This process's threads, and with a state file every process, one at a time."""
        with self._thread_lock:
            if not self.state_path:
                yield
                return
            self.state_path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.state_path.with_name(self.state_path.name + ".lock"), "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(lock, fcntl.LOCK_UN)

    def _load(self) -> list[float]:
        if not self.state_path or not self.state_path.is_file():
            return []
        try:
            times = json.loads(self.state_path.read_text())
            cutoff = self.clock() - DAY_S
            return sorted(float(t) for t in times if float(t) > cutoff)
        except (ValueError, TypeError):
            return []  # a damaged state file only costs the memory of earlier runs

    def _save(self) -> None:
        if self.state_path:
            write_atomic(self.state_path, json.dumps(list(self.times)).encode())


@dataclass(frozen=True)
class FreesoundSound:
    id: int  # Freesound sound id
    name: str  # the uploader's file name
    tags: tuple[str, ...]  # the uploader's tags
    username: str  # the uploader
    license: str  # licence URL, e.g. http://creativecommons.org/publicdomain/zero/1.0/
    created: str | None  # upload time, ISO 8601
    duration: float | None  # seconds
    url: str | None  # the sound's page on freesound.org
    description: str | None  # the uploader's description
    previews: dict = field(default_factory=dict)  # preview name -> URL
    type: str | None = None  # the original file's format: wav, aif, flac, mp3, ogg, m4a

    @classmethod
    def from_json(cls, obj) -> FreesoundSound:
        try:
            return cls(id=int(obj["id"]), name=str(obj.get("name") or obj["id"]),
                       tags=tuple(str(t) for t in obj.get("tags") or ()),
                       username=str(obj.get("username") or ""), license=str(obj.get("license") or ""),
                       created=obj.get("created"),
                       duration=None if obj.get("duration") is None else float(obj["duration"]),
                       url=obj.get("url"), description=obj.get("description"),
                       previews=dict(obj.get("previews") or {}),
                       type=str(obj["type"]).lower() if obj.get("type") else None)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ApiResponseError(f"Unexpected sound record from the API ({e!r}): "
                                   f"{str(obj)[:DETAIL_CHARS]}") from e

    def preview_url(self, preferred: str = PREVIEW_FIELD) -> str:
        for name in (preferred, *PREVIEW_FALLBACKS):
            if self.previews.get(name):
                return str(self.previews[name])
        raise NotFoundError(f"Sound {self.id} has no preview URL (fields: {sorted(self.previews)})")


@dataclass(frozen=True)
class SearchPage:
    count: int  # results matching the whole search
    sounds: list[FreesoundSound]  # this page, in the order asked for
    next: str | None  # URL of the next page, or None on the last


@dataclass(frozen=True)
class Download:
    path: Path  # where the file now is, complete
    sha256: str  # hex digest of its bytes
    size: int  # bytes


class FreesoundClient:
    """Search, sound details and previews. `key` comes from the caller (env var or app secret)."""

    def __init__(self, key: str | None, config: ClientConfig = ClientConfig(),
                 sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[str], None] | None = None):
        self._key = resolve_api_key(key, environ={})  # an explicit key only: env is the caller's
        self._start(config, sleep, on_wait, ApiKeyAuth(self._key, config.api_url.rstrip("/")))

    def _start(self, config: ClientConfig, sleep: Callable[[float], None],
               on_wait: Callable[[str], None] | None, auth: ApiKeyAuth) -> None:
        self.config = config
        self.api_url = config.api_url.rstrip("/")
        self.sleep, self.on_wait = sleep, on_wait
        self.limiter = RateLimiter(config.per_minute, config.per_day, config.rate_state, sleep=sleep)
        self.session = _ApiSession()
        self.session.auth = auth
        self.session.headers["User-Agent"] = config.user_agent

    def __repr__(self) -> str:
        return f"FreesoundClient(api_url={self.api_url!r}, key=<hidden>)"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> FreesoundClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def search(self, query: str = "", filter: str | None = None, sort: str = "created_desc",
               page_size: int = MAX_PAGE_SIZE, fields: tuple[str, ...] = SEARCH_FIELDS,
               ) -> Iterator[SearchPage]:
        """Pages of `GET <api>/search/`, following `next` until the last page."""
        params = {"query": query, "sort": sort, "fields": ",".join(fields),
                  "page_size": max(1, min(page_size, MAX_PAGE_SIZE))}
        if filter:
            params["filter"] = filter
        url: str | None = f"{self.api_url}/search/"
        while url:
            page = self._page(self._json(url, params))
            yield page
            url, params = self._as_api_scheme(page.next), None  # `next` carries the query already

    def _as_api_scheme(self, url: str | None) -> str | None:
        """An http:// `next` link to the API's own https host is followed over https (the key
        only ever travels over the scheme the API URL names)."""
        if not url:
            return None
        scheme, host, _ = _origin(self.api_url)
        parts = urlsplit(url)
        if (scheme, parts.scheme, (parts.hostname or "").lower(), parts.port) in (
                ("https", "http", host, None), ("https", "http", host, 80)):
            return urlunsplit(("https", host, parts.path, parts.query, parts.fragment))
        return url

    def sound(self, sound_id: int, fields: tuple[str, ...] = SEARCH_FIELDS) -> FreesoundSound:
        """`GET <api>/sounds/<id>/`."""
        data = self._json(f"{self.api_url}/sounds/{int(sound_id)}/", {"fields": ",".join(fields)})
        return FreesoundSound.from_json(data)

    def download(self, url: str, dest: str | Path, max_bytes: int | None = None) -> Download:
        """Stream `url` into `dest` through a temporary file, so `dest` is only ever whole.
        `max_bytes` defaults to the preview cap."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        cap = max_bytes or self.config.max_preview_bytes
        response = self._request(url, stream=True)
        with response:
            expected = _content_length(response)
            if expected is not None and expected > cap:
                raise DownloadError(f"Preview {_short(url)} is {expected} bytes, over the cap of {cap}")
            with atomic_path(dest) as tmp:
                digest, size = self._stream_to(response, tmp, url, cap)
                if expected is not None and size != expected:
                    raise DownloadError(f"Preview {_short(url)} truncated: {size} of {expected} bytes")
        return Download(dest, digest, size)

    def _stream_to(self, response: requests.Response, tmp: Path, url: str,
                   cap: int) -> tuple[str, int]:
        digest, size = hashlib.sha256(), 0
        try:
            with open(tmp, "wb") as f:
                for chunk in response.iter_content(CHUNK_BYTES):
                    size += len(chunk)
                    if size > cap:
                        raise DownloadError(f"Preview {_short(url)} exceeds the cap of {cap} bytes")
                    digest.update(chunk)
                    f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
        except requests.RequestException as e:
            raise DownloadError(f"Preview {_short(url)} cut off after {size} bytes: "
                                f"{self._redact(str(e))}") from e
        return digest.hexdigest(), size

    def _json(self, url: str, params: dict | None, **send) -> dict:
        response = self._request(url, params=params, **send)
        try:
            data = response.json()
        except ValueError as e:
            raise ApiResponseError(f"Freesound answered {_short(url)} with malformed JSON: "
                                   f"{self._redact(response.text[:DETAIL_CHARS])!r}") from e
        if not isinstance(data, dict):
            raise ApiResponseError(f"Freesound answered {_short(url)} with a JSON {type(data).__name__},"
                                   " not an object")
        return data

    def _page(self, data: dict) -> SearchPage:
        results = data.get("results")
        if not isinstance(results, list):
            raise ApiResponseError(f"A search page without a 'results' list: {str(data)[:DETAIL_CHARS]}")
        sounds = [FreesoundSound.from_json(r) for r in results]
        count = data.get("count")
        if not isinstance(count, int):
            count = len(sounds)
        return SearchPage(count, sounds, data.get("next") or None)

    def _request(self, url: str, params: dict | None = None, stream: bool = False,
                 method: str = "GET", data: dict | None = None,
                 files: Callable[[], dict] | None = None) -> requests.Response:
        """One request with the limiter, a timeout, retries on 5xx/429/network errors; 4xx raise
        at once. `files` makes the multipart files afresh for each attempt, so a retry after a
        connection dropped mid-upload sends the whole file again."""
        last: FreesoundError | None = None
        for attempt in range(self.config.retries + 1):
            if last is not None:
                self._wait(self._backoff(attempt), f"retrying after: {last}")
            if _origin(url) == _origin(self.api_url):
                self.limiter.acquire(self.on_wait)
            try:
                response = self._send(method, url, params, stream, data, files)
            except requests.RequestException as e:
                last = NetworkError(f"No answer from {_short(url)}: {self._redact(str(e))}")
                continue
            if response.status_code < 400:
                return response
            last = self._error(url, response)
            response.close()
            if response.status_code == 401 and self._reauthorize():
                last = None  # a fresh token: the same request once more
            elif response.status_code == 429:
                self._wait_retry_after(response, last)
                last = None if attempt < self.config.retries else last
            elif response.status_code < 500:
                raise last
        raise last or RateLimitError(f"Freesound kept answering 429 for {_short(url)}")

    def _send(self, method: str, url: str, params: dict | None, stream: bool, data: dict | None,
              files: Callable[[], dict] | None) -> requests.Response:
        opened = files() if files else None
        try:
            return self.session.request(method, url, params=params, stream=stream, data=data,
                                        files=opened, timeout=self.config.timeout_s)
        finally:
            for value in (opened or {}).values():
                if isinstance(value, tuple) and hasattr(value[1], "close"):
                    value[1].close()

    def _reauthorize(self) -> bool:
        """After a 401: renew the credentials and say whether to try again (an API key cannot)."""
        return False

    def _wait_retry_after(self, response: requests.Response, error: FreesoundError) -> None:
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        if wait is None:
            wait = self.config.backoff_s
        if wait > self.config.max_retry_wait_s:
            raise RateLimitError(f"{error}; the server asks to wait {wait:.0f} s, longer than the "
                                 f"{self.config.max_retry_wait_s:.0f} s this job waits")
        self._wait(wait, f"rate limited by the server, waiting {wait:.0f} s")

    def _backoff(self, attempt: int) -> float:
        return min(self.config.backoff_s * 2 ** (attempt - 1), self.config.max_retry_wait_s)

    def _wait(self, seconds: float, message: str) -> None:
        if self.on_wait:
            self.on_wait(message)
        if seconds > 0:
            self.sleep(seconds)

    def _error(self, url: str, response: requests.Response) -> FreesoundError:
        status = response.status_code
        text = f"Freesound API {status} for {_short(url)}: {self._redact(api_detail(response))}"
        if status == 401:
            return ApiKeyRejectedError(f"{text} (the API key was rejected; {KEY_HELP})")
        if status == 404:
            return NotFoundError(text)
        if status == 429:
            return RateLimitError(text)
        return NetworkError(text) if status >= 500 else FreesoundError(text)

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "<hidden>")


def api_detail(response: requests.Response) -> str:
    """The API's own `{"detail": ...}`, else the start of the body, else the reason phrase."""
    try:
        data = response.json()
        if isinstance(data, dict) and data.get("detail"):
            return str(data["detail"])
    except ValueError:
        pass
    body = (response.text or "").strip()[:DETAIL_CHARS]
    return body or response.reason or "no detail"


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """`Retry-After` as seconds: a number, or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - (time.time() if now is None else now))


def _content_length(response: requests.Response) -> int | None:
    """The body's length when the server gives it and the bytes are not re-encoded in transit."""
    if response.headers.get("Content-Encoding", "identity").lower() != "identity":
        return None
    try:
        return int(response.headers["Content-Length"])
    except (KeyError, ValueError):
        return None


def _short(url: str) -> str:
    """A URL without its query string, for messages."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


