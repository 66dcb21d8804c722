"""The account half of the fake Freesound (tests/freesound_server.py): OAuth2 and what needs it.

- `GET /apiv2/oauth2/authorize/?client_id&response_type=code&state`: an HTML page with
  "Authorize" and "Deny" links (to `/apiv2/oauth2/decide/`), which redirect to `redirect_uri`
  with `code` and `state` (or `error=access_denied`), or, with no `redirect_uri`, show the code
  on a page, as Freesound does for apps that cannot receive a redirect.
- `POST /apiv2/oauth2/access_token/`: authorization_code and refresh_token grants, Django OAuth
  Toolkit's `{"error": "invalid_grant"}` answers, codes valid `code_ttl_s`, tokens `token_ttl_s`.
- Bearer-only endpoints: `/me/`, `/sounds/upload/` (multipart), `/sounds/<x>/describe/`,
  `/sounds/pending_uploads/`, `/sounds/<id>/edit/` (the owner only), `/sounds/<id>/download/`.
- Scripting: `moderate(id, state)` moves an upload on (pending_moderation, published, rejected,
  processing_failed); `revoke()` invalidates every token; `tokens_issued` lists them all.
"""

from __future__ import annotations

import email.parser
import email.policy
import html
import io
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import unquote, urlencode

import soundfile as sf

from tests.audio_factory import tone

CLIENT_ID, CLIENT_SECRET = "tagger-client-id-42", "fs-client-secret-Qx81Lw0pZr"
ACCOUNT = "curator_ana"  # the user who signs in


def original_wav(seconds: float, freq: float, seed: int) -> bytes:
    """The 'original file' of a sound: lossless 16-bit stereo wav at 44.1 kHz."""
    buf = io.BytesIO()
    sf.write(buf, tone(seconds, 44_100, freq, channels=2, seed=seed), 44_100, format="WAV",
             subtype="PCM_16")
    return buf.getvalue()


@dataclass
class Upload:
    filename: str
    data: bytes
    owner: str
    fields: dict = field(default_factory=dict)
    id: int | None = None  # once described
    state: str = "pending_description"


class FakeAccount:
    def __init__(self, fs, redirect_uri: str | None = None, code_ttl_s: float = 600.0,
                 token_ttl_s: float = 86_400.0, max_upload_bytes: int = 50 * 2**20):
        self.fs = fs
        self.redirect_uri = redirect_uri
        self.code_ttl_s, self.token_ttl_s = code_ttl_s, token_ttl_s
        self.max_upload_bytes = max_upload_bytes
        self.codes: dict[str, float] = {}  # code -> issued at
        self.access: dict[str, tuple[str, float]] = {}  # token -> (user, expires at)
        self.refresh: dict[str, str] = {}  # refresh token -> user
        self.tokens_issued: list[str] = []
        self.uploads: list[Upload] = []
        self.edits: list[tuple[int, str]] = []  # (sound id, tags) accepted by /edit/
        self.originals = {s["id"]: original_wav(fs.preview_seconds, 220 + 110 * i, i)
                          for i, s in enumerate(fs.sounds)}
        self.lock = threading.Lock()
        self.next_id = 1_000_000

    # -- scripting ---------------------------------------------------------------------------
    def revoke(self) -> None:
        with self.lock:
            self.access.clear()
            self.refresh.clear()

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access = {t: (u, 0.0) for t, (u, _) in self.access.items()}

    def grant_code(self) -> str:
        code = "code-" + secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = time.time()
        return code

    def moderate(self, sound_id: int, state: str) -> None:
        """pending_moderation, published (the sound appears in search), rejected, processing_failed."""
        upload = next(u for u in self.uploads if u.id == sound_id)
        upload.state = state
        if state == "published":
            f = upload.fields
            self.fs.sounds.insert(0, {
                "id": sound_id, "name": f.get("name") or upload.filename,
                "tags": f.get("tags", "").split(), "username": upload.owner,
                "license": f.get("license", ""), "created": self.fs.now.isoformat(),
                "duration": 1.0, "url": f"https://freesound.org/s/{sound_id}/",
                "description": f.get("description", ""), "type": "wav"})
            self.fs.previews[sound_id] = self.fs.previews[next(iter(self.fs.previews))]
            self.originals[sound_id] = upload.data

    # -- requests ----------------------------------------------------------------------------
    def user_for(self, authorization: str | None) -> str | None:
        match = re.fullmatch(r"Bearer (\S+)", authorization or "")
        with self.lock:
            user, expires = self.access.get(match.group(1), (None, 0.0)) if match else (None, 0.0)
        return user if user and time.time() < expires else None

    def authorize_page(self, query: dict) -> tuple[int, bytes]:
        if query.get("client_id") != CLIENT_ID or query.get("response_type") != "code":
            return 400, b"<p>Invalid client_id or response_type</p>"
        keep = urlencode({"state": query.get("state", "")})
        page = (f'<h1>Authorize tagger?</h1><a id="authorize" href="/apiv2/oauth2/decide/?allow=1&'
                f'{keep}">Authorize</a> <a id="deny" href="/apiv2/oauth2/decide/?allow=0&{keep}">'
                "Deny</a>")
        return 200, page.encode()

    def decide(self, query: dict) -> tuple[int, bytes, dict]:
        """(status, body, headers): a redirect back to the app, or the code shown on a page."""
        allow = query.get("allow") == "1"
        if self.redirect_uri:
            params = ({"code": self.grant_code(), "state": query.get("state", "")} if allow
                      else {"error": "access_denied", "state": query.get("state", "")})
            return 302, b"", {"Location": f"{self.redirect_uri}?{urlencode(params)}"}
        if not allow:
            return 200, b"<p>You denied access.</p>", {}
        code = self.grant_code()
        return 200, f'<p>Your authorization code: <code id="code">{html.escape(code)}</code></p>'.encode(), {}

    def token(self, form: dict) -> tuple[int, dict]:
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != CLIENT_SECRET:
            return 401, {"error": "invalid_client"}
        grant = form.get("grant_type")
        with self.lock:
            if grant == "authorization_code":
                issued = self.codes.pop(form.get("code", ""), None)
                if issued is None or time.time() - issued > self.code_ttl_s:
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(ACCOUNT)
            if grant == "refresh_token":
                user = self.refresh.pop(form.get("refresh_token", ""), None)
                if user is None:
                    return 400, {"error": "invalid_grant"}
                return 200, self._issue(user)
        return 400, {"error": "unsupported_grant_type"}

    def _issue(self, user: str) -> dict:
        access, refresh = "fs-access-" + secrets.token_hex(12), "fs-refresh-" + secrets.token_hex(12)
        self.access[access] = (user, time.time() + self.token_ttl_s)
        self.refresh[refresh] = user
        self.tokens_issued += [access, refresh]
        return {"access_token": access, "refresh_token": refresh, "scope": "read write",
                "expires_in": int(self.token_ttl_s), "token_type": "Bearer"}

    def api(self, method: str, path: str, user: str, body: bytes, ctype: str) -> tuple[int, object]:
        if path == "/apiv2/me/" and method == "GET":
            return 200, {"username": user, "url": f"https://freesound.org/people/{user}/"}
        if path == "/apiv2/sounds/pending_uploads/" and method == "GET":
            return 200, self.pending(user)
        if path == "/apiv2/sounds/upload/" and method == "POST":
            return self.upload(user, parse_form(body, ctype))
        match = re.fullmatch(r"/apiv2/sounds/([^/]+)/(describe|edit|download)/", path)
        if not match:
            return 404, {"detail": "Not found."}
        target, action = unquote(match.group(1)), match.group(2)
        if action == "describe" and method == "POST":
            return self.describe(user, target, parse_form(body, ctype)[0])
        if action == "edit" and method == "POST":
            return self.edit(user, int(target), parse_form(body, ctype)[0])
        if action == "download" and method == "GET":
            data = self.originals.get(int(target)) if target.isdigit() else None
            return (200, data) if data is not None else (404, {"detail": "Not found."})
        return 405, {"detail": f"Method {method} not allowed."}

    def upload(self, user: str, form: tuple[dict, dict]) -> tuple[int, dict]:
        fields, files = form
        if "audiofile" not in files:
            return 400, {"detail": {"audiofile": ["This field is required."]}}
        filename, data = files["audiofile"]
        if len(data) > self.max_upload_bytes:
            return 413, {"detail": "Request entity too large"}
        upload = Upload(filename, data, user)
        self.uploads.append(upload)
        if all(fields.get(k) for k in ("tags", "description", "license")):
            return self.describe(user, filename, fields)
        return 201, {"detail": f"Audio file successfully uploaded ({filename}), now pending "
                               "description", "filename": filename}

    def describe(self, user: str, filename: str, fields: dict) -> tuple[int, dict]:
        upload = next((u for u in reversed(self.uploads) if u.filename == filename
                       and u.owner == user and u.id is None), None)
        if upload is None:
            return 404, {"detail": "Not found."}
        if len(set(fields.get("tags", "").split())) < 3:
            return 400, {"detail": {"tags": ["You should add at least 3 different tags."]}}
        if fields.get("license") not in ("Attribution", "Attribution NonCommercial",
                                         "Creative Commons 0"):
            return 400, {"detail": {"license": ["Invalid license."]}}
        upload.fields, upload.id, upload.state = dict(fields), self.next_id, "pending_processing"
        self.next_id += 1
        return 201, {"detail": "Audio file successfully described (now pending processing and "
                               "moderation)", "id": upload.id}

    def pending(self, user: str) -> dict:
        mine = [u for u in self.uploads if u.owner == user]

        def record(u: Upload) -> dict:
            return {"id": u.id, "name": u.fields.get("name", u.filename),
                    "tags": u.fields.get("tags", "").split(), "description": u.fields.get("description"),
                    "processing_state": "Failed" if u.state == "processing_failed" else "Processing"}
        return {"pending_description": [u.filename for u in mine if u.state == "pending_description"],
                "pending_processing": [record(u) for u in mine
                                       if u.state in ("pending_processing", "processing_failed")],
                "pending_moderation": [record(u) for u in mine if u.state == "pending_moderation"]}

    def edit(self, user: str, sound_id: int, fields: dict) -> tuple[int, dict]:
        sound = next((s for s in self.fs.sounds if s["id"] == sound_id), None)
        if sound is None:
            return 404, {"detail": "Not found."}
        if sound["username"] != user:
            return 403, {"detail": "You're not the owner of this sound."}
        if "tags" in fields:
            sound["tags"] = fields["tags"].split()
            self.edits.append((sound_id, fields["tags"]))
        return 200, {"detail": f"Description of sound {sound_id} successfully edited"}


def parse_form(body: bytes, ctype: str) -> tuple[dict, dict]:
    """(fields, files) of a multipart/form-data or url-encoded body; files: name -> (filename, bytes)."""
    if ctype.startswith("application/x-www-form-urlencoded"):
        from urllib.parse import parse_qs
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}, {}
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + body)
    fields, files = {}, {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        filename = part.get_filename()
        payload = part.get_payload(decode=True) or b""
        if filename is not None:
            files[name] = (filename, payload)
        else:
            fields[name] = payload.decode("utf-8")
    return fields, files
