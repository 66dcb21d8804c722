"""What a signed-in Freesound account can do: upload and describe a sound, follow it through
processing and moderation, edit the tags of one's own sounds, download original files.

`AccountClient` is a `FreesoundClient` (same rate limits, retries, timeouts and error messages)
that sends `Authorization: Bearer <token>` to the API's own origin only, takes a fresh token
from `Account` for each request (refreshed when it expired) and, after a 401, renews it once.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import requests

from core.freesound import (
    ApiKeyAuth,
    ApiResponseError,
    ClientConfig,
    Download,
    FreesoundClient,
    FreesoundError,
    NetworkError,
    NotFoundError,
    _origin,
    _short,
    api_detail,
)
from core.oauth import Account, TokenRevokedError

LICENSES = ("Attribution", "Attribution NonCommercial", "Creative Commons 0")  # as the API names them
MIN_TAGS = 3  # Freesound refuses a description with fewer
TAG_CHARS = re.compile(r"[^a-z0-9_-]+")
UPLOAD_STATES = {  # state -> what a person is told
    "pending_description": "uploaded, waiting for its description",
    "pending_processing": "uploaded and described, waiting to be processed",
    "processing_failed": "Freesound could not process the file: upload another format",
    "pending_moderation": "processed, waiting for a moderator",
    "published": "published on Freesound",
    "gone": "no longer on Freesound: a moderator may have rejected it (see your Freesound "
            "messages), or it was deleted",
}


class NotYourSoundError(FreesoundError):
    """Only the uploader may edit a sound's description and tags."""


class UploadRefusedError(FreesoundError):
    """Freesound refused the file or its description (size, format, tags, licence)."""


class BearerAuth(ApiKeyAuth):
    """`Authorization: Bearer <token>` for the API origin only; removed for any other origin."""

    def __init__(self, account: Account, api_url: str):
        super().__init__("unused", api_url)
        self.account = account

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers.pop("Authorization", None)
        if _origin(request.url or "") == self._origin:
            request.headers["Authorization"] = f"Bearer {self.account.access_token()}"
        return request

    def __repr__(self) -> str:
        return f"BearerAuth(origin={self._origin[1]!r}, token=<hidden>)"


@dataclass(frozen=True)
class UploadForm:
    """What Freesound needs to describe a sound (name, description, licence, at least 3 tags)."""

    name: str  # the title on Freesound
    description: str  # what the sound is, how it was made
    license: str  # one of LICENSES
    tags: tuple[str, ...]  # Freesound tags (freesound_tags() cleans them)
    pack: str | None = None  # pack name, created when new
    geotag: tuple[float, float, int] | None = None  # (latitude, longitude, zoom)

    def problems(self) -> list[str]:
        """What stops this form from being sent, in words (empty: ready)."""
        out = []
        if not self.name.strip():
            out.append("give the sound a name")
        if not self.description.strip():
            out.append("write a description (Freesound requires one)")
        if self.license not in LICENSES:
            out.append(f"choose a licence: {', '.join(LICENSES)}")
        if len(set(self.tags)) < MIN_TAGS:
            out.append(f"give at least {MIN_TAGS} different tags (Freesound requires them; "
                       f"{len(set(self.tags))} so far)")
        if self.geotag and not (-90 <= self.geotag[0] <= 90 and -180 <= self.geotag[1] <= 180):
            out.append("the geotag needs a latitude in -90..90 and a longitude in -180..180")
        return out

    def fields(self) -> dict:
        data = {"name": self.name.strip(), "description": self.description.strip(),
                "license": self.license, "tags": " ".join(dict.fromkeys(self.tags))}
        if self.pack and self.pack.strip():
            data["pack"] = self.pack.strip()
        if self.geotag:
            lat, lon, zoom = self.geotag
            data["geotag"] = f"{lat:.6f},{lon:.6f},{int(zoom)}"
        return data


def freesound_tags(tags: Sequence[str]) -> tuple[str, ...]:
    """Tags as Freesound keeps them: lower case, no spaces (a space becomes '-'), no duplicates."""
    out = []
    for tag in tags:
        clean = TAG_CHARS.sub("", re.sub(r"\s+", "-", tag.strip().lower())).strip("-_")
        if clean:
            out.append(clean)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class UploadReceipt:
    freesound_id: int | None  # the new sound's id, when it was described at once
    filename: str  # the file's name on Freesound (what `describe` takes before there is an id)
    detail: str  # Freesound's own words


@dataclass(frozen=True)
class TagDiff:
    on_freesound: tuple[str, ...]  # the tags Freesound has now
    curated: tuple[str, ...]  # what would be sent
    added: tuple[str, ...]  # curated, not on Freesound
    removed: tuple[str, ...]  # on Freesound, not curated

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def tag_diff(on_freesound: Sequence[str], curated: Sequence[str]) -> TagDiff:
    now, new = tuple(on_freesound), freesound_tags(curated)
    return TagDiff(now, new, tuple(t for t in new if t not in now),
                   tuple(t for t in now if t not in new))


class AccountClient(FreesoundClient):
    """Search and previews as FreesoundClient, plus the calls that need a signed-in account."""

    def __init__(self, account: Account, config: ClientConfig | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 on_wait: Callable[[str], None] | None = None):
        self.account = account
        config = config or ClientConfig(api_url=account.app.api_url)
        self._key = ""
        self._renewed = False
        self._start(config, sleep, on_wait, BearerAuth(account, config.api_url.rstrip("/")))

    def __repr__(self) -> str:
        return f"AccountClient(api_url={self.api_url!r}, token=<hidden>)"

    def me(self) -> str:
        """The signed-in username (`GET /me/`)."""
        data = self._json(f"{self.api_url}/me/", None)
        if not data.get("username"):
            raise ApiResponseError("Freesound's /me/ answered without a username")
        return str(data["username"])

    def upload(self, path: str | Path, form: UploadForm | None) -> UploadReceipt:
        """`POST /sounds/upload/` with the whole file (again, whole, on a retry) and, when the form
        is complete, its description, so Freesound describes it at once."""
        path = Path(path)
        if form is not None and form.problems():
            raise UploadRefusedError("Not uploaded: " + "; ".join(form.problems()))
        data = form.fields() if form else {}
        try:
            response = self._request(f"{self.api_url}/sounds/upload/", method="POST", data=data,
                                     files=lambda: {"audiofile": (path.name, open(path, "rb"))})
        except NetworkError as e:
            raise NetworkError(f"{e}. The upload did not complete and nothing is recorded as "
                               "uploaded: try again when the connection is back") from e
        body = self._body(response)
        fid = body.get("id")
        return UploadReceipt(int(fid) if fid is not None else None,
                             str(body.get("filename") or path.name), str(body.get("detail", "")))

    def describe(self, filename: str, form: UploadForm) -> UploadReceipt:
        """`POST /sounds/<filename>/describe/`: a file uploaded without its description."""
        if form.problems():
            raise UploadRefusedError("Not described: " + "; ".join(form.problems()))
        body = self._body(self._request(f"{self.api_url}/sounds/{quote(filename, safe='')}/describe/",
                                        method="POST", data=form.fields()))
        fid = body.get("id")
        return UploadReceipt(int(fid) if fid is not None else None, filename,
                             str(body.get("detail", "")))

    def pending_uploads(self) -> dict[str, list]:
        """`GET /sounds/pending_uploads/`: pending_description (file names), pending_processing
        and pending_moderation (sound records)."""
        data = self._json(f"{self.api_url}/sounds/pending_uploads/", None)
        return {k: list(data.get(k) or []) for k in
                ("pending_description", "pending_processing", "pending_moderation")}

    def upload_state(self, freesound_id: int) -> str:
        """One of UPLOAD_STATES for a sound this account uploaded."""
        pending = self.pending_uploads()
        for record in pending["pending_processing"]:
            if int(record.get("id", -1)) == freesound_id:
                failed = str(record.get("processing_state", "")).lower() == "failed"
                return "processing_failed" if failed else "pending_processing"
        if any(int(r.get("id", -1)) == freesound_id for r in pending["pending_moderation"]):
            return "pending_moderation"
        try:
            self.sound(freesound_id, fields=("id",))
        except NotFoundError:
            return "gone"
        return "published"

    def sound_tags(self, freesound_id: int) -> tuple[str, tuple[str, ...]]:
        """(uploader, tags) of a sound as Freesound has them now."""
        sound = self.sound(freesound_id, fields=("id", "name", "username", "tags"))
        return sound.username, sound.tags

    def edit_tags(self, freesound_id: int, tags: Sequence[str]) -> str:
        """`POST /sounds/<id>/edit/` with the tags; refused here for another person's sound."""
        me = self.me()
        owner, _ = self.sound_tags(freesound_id)
        if owner != me:
            raise NotYourSoundError(f"Sound {freesound_id} belongs to {owner}, not to {me}: only "
                                    "its uploader can change its tags on Freesound")
        clean = freesound_tags(tags)
        if len(clean) < MIN_TAGS:
            raise UploadRefusedError(f"Not sent: Freesound needs at least {MIN_TAGS} tags, "
                                     f"these are {len(clean)}")
        body = self._body(self._request(f"{self.api_url}/sounds/{int(freesound_id)}/edit/",
                                        method="POST", data={"tags": " ".join(clean)}))
        return str(body.get("detail", "edited"))

    def download_original(self, freesound_id: int, dest: str | Path) -> Download:
        """`GET /sounds/<id>/download/`: the file as uploaded (OAuth2 only)."""
        return self.download(self.original_url(freesound_id), dest,
                             max_bytes=self.config.max_original_bytes)

    def original_url(self, freesound_id: int) -> str:
        return f"{self.api_url}/sounds/{int(freesound_id)}/download/"

    def _body(self, response: requests.Response) -> dict:
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise ApiResponseError(f"Freesound answered {_short(response.url)} without a JSON "
                                   "object; the request may not have been applied: check on "
                                   "Freesound before trying again")
        return data

    def _request(self, url: str, *args, **kwargs) -> requests.Response:
        self._renewed = False  # one renewal per request
        return super()._request(url, *args, **kwargs)

    def _reauthorize(self) -> bool:
        if self._renewed:
            return False
        self._renewed = True
        self.account.access_token(force_refresh=True)  # TokenRevokedError when it cannot
        return True

    def _error(self, url: str, response: requests.Response) -> FreesoundError:
        status = response.status_code
        text = f"Freesound API {status} for {_short(url)}: {self._redact(api_detail(response))}"
        if status == 401:
            return TokenRevokedError(f"{text} (the sign-in was refused: sign in again)")
        if status == 403:
            return NotYourSoundError(f"{text} (this account may not do that)")
        if status == 413:
            return UploadRefusedError(f"{text} (the file is too large for Freesound)")
        if status == 400 and ("/upload/" in url or "/describe/" in url):
            return UploadRefusedError(f"{text} (fix the file or the form and upload again)")
        return super()._error(url, response)

    def _redact(self, text: str) -> str:
        tokens = self.account.signed_in()
        for secret in (tokens.access_token, tokens.refresh_token) if tokens else ():
            text = text.replace(secret, "<hidden>")
        return text.replace(self.account.app.client_secret, "<hidden>")
