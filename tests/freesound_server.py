"""A stand-in for the Freesound API v2 on 127.0.0.1, started by the tests, that can misbehave.

It speaks the API's JSON (search pages with `next`, sound details, `{"detail": ...}` errors),
serves real ogg previews made with soundfile, checks `Authorization: Token <key>` on API paths,
and records every request it receives (which address it reached, the path, the query and any
Authorization header). A second server on 127.0.0.2 plays the preview CDN on another host.
`fs.account` (tests/freesound_server_account.py) adds OAuth2 sign-in and the endpoints that
need it: upload, describe, pending uploads, edit and original downloads.

    with FakeFreesound(n_sounds=5) as fs:
        fs.fail("/search/", Fault("status", status=500))   # the next search answers 500
        client = FreesoundClient(API_KEY, ClientConfig(api_url=fs.api_url))
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import soundfile as sf

from tests.audio_factory import tone
from tests.freesound_server_account import FakeAccount, parse_form

API_KEY = "fs-test-key-7Qm2Zx9Lk4Wp"  # distinctive, so a grep for it finds any leak
API_HOST, CDN_HOST = "127.0.0.1", "127.0.0.2"
CC0 = "http://creativecommons.org/publicdomain/zero/1.0/"
SINCE = re.compile(r"created:\[NOW-(\d+)(DAYS|HOURS|MINUTES) TO NOW\]")
UNITS = {"DAYS": "days", "HOURS": "hours", "MINUTES": "minutes"}
ACCOUNT_PATH = re.compile(r"/apiv2/(me/|sounds/(upload|pending_uploads)/|"
                          r"sounds/[^/]+/(describe|edit|download)/)")


@dataclass
class Fault:
    kind: str  # "status", "slow", "truncate", "malformed", "redirect" or "drop" (a POST cut off)
    status: int = 500  # for "status"
    detail: str | None = None  # the {"detail": ...} of a "status" answer (None: a plain text body)
    headers: dict = field(default_factory=dict)  # extra headers, e.g. {"Retry-After": "2"}
    delay_s: float = 2.0  # for "slow": wait this long before answering normally
    location: str | None = None  # for "redirect"; None: the same path on the CDN host
    times: int = 1  # how many matching requests it affects


@dataclass(frozen=True)
class Seen:
    host: str  # the address the request reached (API_HOST or CDN_HOST)
    host_header: str  # the Host header the client sent
    path: str
    query: dict  # parameter -> value (first value)
    authorization: str | None  # the Authorization header, if any


def ogg_preview(seconds: float, freq: float, seed: int) -> bytes:
    """A real ogg/vorbis file: a decaying stereo tone with a little noise."""
    buf = io.BytesIO()
    sf.write(buf, tone(seconds, 44_100, freq, channels=2, seed=seed), 44_100, format="OGG",
             subtype="VORBIS")
    return buf.getvalue()


def make_sounds(n: int, now: datetime, hours_apart: float = 10.0) -> list[dict]:
    """`n` sound records, newest first; ids are not in upload order, as on the real site."""
    sounds = []
    for i in range(n):
        sid = 800_000 + (i * 7919) % 1000 * 13  # distinct, scrambled
        sounds.append({
            "id": sid, "name": f"Test sound {i} <b>'quoted'</b>.wav",
            "tags": ["test", f"tone{i}", "field-recording"], "username": f"user_{i % 3}",
            "license": CC0, "created": (now - timedelta(hours=i * hours_apart)).isoformat(),
            "duration": 1.5, "url": f"https://freesound.org/people/user_{i % 3}/sounds/{sid}/",
            "description": f"A tone at {220 + 110 * i} Hz; 'quotes' and; DROP TABLE sounds;--",
            "type": "wav"})
    return sounds


class FakeFreesound:
    def __init__(self, n_sounds: int = 5, previews_on_cdn: bool = False, key: str = API_KEY,
                 preview_seconds: float = 1.5, api_hostname: str = API_HOST):
        self.key = key
        self.previews_on_cdn = previews_on_cdn
        self.api_hostname = api_hostname  # what the API URL says: API_HOST, or "localhost"
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.sounds = make_sounds(n_sounds, self.now)
        self.preview_seconds = preview_seconds  # originals (fs.account) are as long
        self.previews = {s["id"]: ogg_preview(preview_seconds, 220 + 110 * i, i)
                         for i, s in enumerate(self.sounds)}
        self.seen: list[Seen] = []
        self.faults: list[tuple[str, Fault]] = []
        self.lock = threading.Lock()
        self.servers: list[ThreadingHTTPServer] = []
        self.account = FakeAccount(self)

    # -- lifecycle ---------------------------------------------------------------------------
    def __enter__(self) -> FakeFreesound:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        for host in (API_HOST, CDN_HOST):
            server = _Server((host, 0), _handler_for(self, host))
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self.servers.append(server)

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()

    @property
    def api_url(self) -> str:
        return f"http://{self.api_hostname}:{self.servers[0].server_address[1]}/apiv2"

    def base(self, host: str) -> str:
        server = self.servers[0] if host == API_HOST else self.servers[1]
        return f"http://{host}:{server.server_address[1]}"

    def preview_url(self, sid: int, quality: str = "hq") -> str:
        host = CDN_HOST if self.previews_on_cdn else API_HOST
        return f"{self.base(host)}/previews/{sid}-{quality}.ogg"

    # -- scripting ---------------------------------------------------------------------------
    def fail(self, path_part: str, fault: Fault) -> None:
        """Make the next `fault.times` requests whose path (with query) contains `path_part` fail."""
        with self.lock:
            self.faults.append((path_part, fault))

    def take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for i, (part, fault) in enumerate(self.faults):
                if part in path:
                    fault.times -= 1
                    if fault.times <= 0:
                        del self.faults[i]
                    return fault
        return None

    def add_newer_sounds(self, n: int) -> list[dict]:
        """Upload `n` sounds newer than all others (as happens between two runs of the feed)."""
        newest = datetime.fromisoformat(self.sounds[0]["created"]) if self.sounds else self.now
        fresh = make_sounds(n, newest + timedelta(hours=10 * n))
        for i, s in enumerate(fresh):
            s["id"] = 900_000 + len(self.previews)
            s["name"] = f"Newer sound {i}.wav"
            self.previews[s["id"]] = ogg_preview(1.0, 300 + 50 * i, 100 + i)
        self.sounds = fresh + self.sounds
        return fresh

    def requests_to(self, path_part: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if path_part in s.path]

    # -- the API -----------------------------------------------------------------------------
    def search(self, query: dict, host_header: str) -> tuple[int, dict]:
        sounds = self._matching(query)
        size = int(query.get("page_size", 15))
        if size > 150:
            return 400, {"detail": "page_size must be at most 150"}
        page = int(query.get("page", 1))
        chunk = sounds[(page - 1) * size: page * size]
        has_next = page * size < len(sounds)
        nxt = dict(query, page=str(page + 1))
        return 200, {
            "count": len(sounds),
            "next": f"http://{host_header}/apiv2/search/?{urlencode(nxt)}" if has_next else None,
            "previous": None,
            "results": [self.record(s, query.get("fields")) for s in chunk]}

    def _matching(self, query: dict) -> list[dict]:
        sounds = list(self.sounds)
        if query.get("query"):
            q = query["query"].lower()
            sounds = [s for s in sounds if q in s["name"].lower() or q in " ".join(s["tags"])]
        match = SINCE.search(query.get("filter", ""))
        if match:
            cutoff = self.now - timedelta(**{UNITS[match.group(2)]: int(match.group(1))})
            sounds = [s for s in sounds if datetime.fromisoformat(s["created"]) >= cutoff]
        if query.get("sort") == "created_desc":
            return sorted(sounds, key=lambda s: s["created"], reverse=True)
        return sorted(sounds, key=lambda s: s["id"])  # "relevance": not the newest first

    def record(self, sound: dict, fields: str | None) -> dict:
        full = dict(sound, previews={
            "preview-hq-ogg": self.preview_url(sound["id"], "hq"),
            "preview-lq-ogg": self.preview_url(sound["id"], "lq")})
        if not fields:
            return full
        return {k: v for k, v in full.items() if k in fields.split(",")}

    def sound(self, sid: int) -> tuple[int, dict]:
        for s in self.sounds:
            if s["id"] == sid:
                return 200, self.record(s, None)
        return 404, {"detail": "Not found."}


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up (a timeout test, a closed session) is normal here; else report."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def _handler_for(fs: FakeFreesound, host: str) -> type[BaseHTTPRequestHandler]:
    class Handler(_Handler):
        server_fs, server_host = fs, host
    return Handler


class _Handler(BaseHTTPRequestHandler):
    server_fs: FakeFreesound
    server_host: str
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fs = self.server_fs
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        with fs.lock:
            fs.seen.append(Seen(self.server_host, self.headers.get("Host", ""), parts.path, query,
                                self.headers.get("Authorization")))
        try:
            fault = fs.take_fault(self.path)
            if fault and fault.kind == "slow":
                time.sleep(fault.delay_s)
                fault = None
            if fault and fault.kind == "drop":
                return self._drop()
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if fault:
                self._misbehave(fault, parts.path)
            else:
                self._route(parts.path, query, method, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test): nothing to answer

    def _drop(self) -> None:
        """Read part of the request body, then hang up without an answer (a network drop)."""
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(min(length // 2, 65536))
        self.close_connection = True
        self.connection.shutdown(2)

    def _route(self, path: str, query: dict, method: str = "GET", body: bytes = b"") -> None:
        fs = self.server_fs
        if path.startswith("/previews/"):
            return self._preview(path)
        if not path.startswith("/apiv2/"):
            return self._json(404, {"detail": "Not found."})
        if path.startswith("/apiv2/oauth2/"):
            return self._oauth(path, query, body)
        auth = self.headers.get("Authorization")
        user = fs.account.user_for(auth)
        if auth != f"Token {fs.key}" and user is None:
            return self._json(401, {"detail": "Invalid token."})
        if ACCOUNT_PATH.fullmatch(path):
            if user is None:
                return self._json(401, {"detail": "This resource requires OAuth2 authentication."})
            status, out = fs.account.api(method, path, user, body,
                                         self.headers.get("Content-Type", ""))
            if isinstance(out, bytes):
                return self._send(status, out, "audio/wav")
            return self._json(status, out)
        if path == "/apiv2/search/":
            return self._json(*fs.search(query, self.headers.get("Host", "")))
        match = re.fullmatch(r"/apiv2/sounds/(\d+)/", path)
        if match:
            return self._json(*fs.sound(int(match.group(1))))
        return self._json(404, {"detail": "Not found."})

    def _oauth(self, path: str, query: dict, body: bytes) -> None:
        account = self.server_fs.account
        if path == "/apiv2/oauth2/authorize/":
            status, page = account.authorize_page(query)
            return self._send(status, page, "text/html; charset=utf-8")
        if path == "/apiv2/oauth2/decide/":
            status, page, headers = account.decide(query)
            return self._send(status, page, "text/html; charset=utf-8", headers)
        if path == "/apiv2/oauth2/access_token/":
            form, _ = parse_form(body, self.headers.get("Content-Type", ""))
            return self._json(*account.token(form))
        return self._json(404, {"detail": "Not found."})

    def _preview(self, path: str) -> None:
        match = re.fullmatch(r"/previews/(\d+)-(hq|lq)\.ogg", path)
        data = self.server_fs.previews.get(int(match.group(1))) if match else None
        if data is None:
            return self._json(404, {"detail": "Not found."})
        self._send(200, data, "audio/ogg")

    def _misbehave(self, fault: Fault, path: str) -> None:
        if fault.kind == "status":
            body = (json.dumps({"detail": fault.detail}).encode() if fault.detail is not None
                    else b"<html>Server Error</html>")
            return self._send(fault.status, body, "application/json", fault.headers)
        if fault.kind == "malformed":
            return self._send(200, b'{"count": 3, "results": [{"id": 1, "na', "application/json")
        if fault.kind == "redirect":
            location = fault.location or f"{self.server_fs.base(CDN_HOST)}{path}"
            return self._send(302, b"", "text/plain", {"Location": location})
        if fault.kind == "truncate":
            return self._truncated(path)
        raise ValueError(f"unknown fault kind {fault.kind!r}")

    def _truncated(self, path: str) -> None:
        """Promise the whole preview, send half of it, hang up."""
        match = re.fullmatch(r"/previews/(\d+)-(hq|lq)\.ogg", path)
        data = self.server_fs.previews[int(match.group(1))]
        self.send_response(200)
        self.send_header("Content-Type", "audio/ogg")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self.close_connection = True

    def _json(self, status: int, obj: dict) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _send(self, status: int, body: bytes, ctype: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
