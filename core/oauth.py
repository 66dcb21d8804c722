"""Signing in to Freesound with OAuth2 (authorization-code grant) and keeping the tokens.

    app = resolve_oauth_app()                       # $FREESOUND_CLIENT_ID / _SECRET (or given)
    url = authorize_url(app, state)                 # the person opens it and allows access
    account = Account(app); account.sign_in(code)   # code -> tokens, saved to the token file
    account.access_token()                          # a valid token, refreshed when it expired

Freesound's codes last 10 minutes and access tokens 24 hours; a refresh token renews them. The
tokens live in one file, `$XDG_CONFIG_HOME/freesound-tagger/freesound-token.json` (default
`~/.config/...`), created 0600, never in the repository or the tag store. No token or client
secret is ever put in a message, a repr or a log line.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import requests

from core.files import write_json
from core.freesound import DEFAULT_API_URL, FreesoundError, NetworkError, api_detail

CLIENT_ID_ENV, CLIENT_SECRET_ENV = "FREESOUND_CLIENT_ID", "FREESOUND_CLIENT_SECRET"
CREDENTIALS_HELP = (f"set {CLIENT_ID_ENV} and {CLIENT_SECRET_ENV} in the environment (or in "
                    ".streamlit/secrets.toml for the app): the Client id and Client secret of "
                    "your API credentials at https://freesound.org/apiv2/apply")
TOKEN_FILE = "freesound-token.json"
EXPIRY_MARGIN_S = 60.0  # a token this close to its end is refreshed before use
STATE_TTL_S = 600.0  # an authorize link is good for as long as Freesound's code (10 minutes)
SIGN_IN_AGAIN = "sign in again (Home > Settings > Connect, or `python -m core freesound login`)"


class OAuthError(FreesoundError):
    """Signing in, or staying signed in, failed; the message says what to do."""


class MissingCredentialsError(OAuthError):
    pass


class ConsentDeniedError(OAuthError):
    pass


class CodeRejectedError(OAuthError):
    """The authorization code was wrong, already used or older than 10 minutes."""


class NotSignedInError(OAuthError):
    pass


class TokenRevokedError(OAuthError):
    """The tokens no longer work (revoked on Freesound, or the refresh failed)."""


@dataclass(frozen=True)
class OAuthApp:
    client_id: str  # the Client id of the API credentials
    client_secret: str  # their Client secret: never shown
    api_url: str = DEFAULT_API_URL  # <api_url>/oauth2/authorize/ and /oauth2/access_token/

    def __repr__(self) -> str:
        return f"OAuthApp(client_id={self.client_id!r}, client_secret=<hidden>, api_url={self.api_url!r})"


@dataclass(frozen=True)
class Tokens:
    access_token: str  # sent as `Authorization: Bearer ...`
    refresh_token: str  # renews the access token
    expires_at: float  # Unix time the access token ends
    scope: str  # as granted
    api_url: str  # the API these tokens belong to: never sent to another
    username: str = ""  # the Freesound account, from /me/ at sign-in

    def __repr__(self) -> str:
        return f"Tokens(username={self.username!r}, api_url={self.api_url!r}, tokens=<hidden>)"

    def expired(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - EXPIRY_MARGIN_S


def resolve_oauth_app(client_id: str | None = None, client_secret: str | None = None,
                      api_url: str = DEFAULT_API_URL, environ: dict | None = None) -> OAuthApp:
    """The credentials given (Streamlit secrets, say), else the environment; else a clear error."""
    env = os.environ if environ is None else environ
    cid = (client_id or env.get(CLIENT_ID_ENV) or "").strip()
    secret = (client_secret or env.get(CLIENT_SECRET_ENV) or "").strip()
    if not cid or not secret:
        raise MissingCredentialsError(f"No Freesound OAuth2 credentials: {CREDENTIALS_HELP}")
    return OAuthApp(cid, secret, api_url.rstrip("/"))


def authorize_url(app: OAuthApp, state: str) -> str:
    """The page where the person allows this app to act for their account."""
    query = urlencode({"client_id": app.client_id, "response_type": "code", "state": state})
    return f"{app.api_url}/oauth2/authorize/?{query}"


def new_state() -> str:
    return secrets.token_urlsafe(16)


def check_redirect(params: dict, expected_state_ok: bool) -> str:
    """The code from the redirect's query (`code`, `state`, or `error`); raises with what to do."""
    error = params.get("error")
    if error == "access_denied":
        raise ConsentDeniedError("You did not allow access on Freesound, so nothing is connected;"
                                 " press Connect again and choose Authorize to connect.")
    if error:
        raise OAuthError(f"Freesound refused the sign-in ({error}); press Connect to try again.")
    if not expected_state_ok:
        raise OAuthError("This sign-in link was not started here or is older than 10 minutes; "
                         "press Connect again.")
    code = str(params.get("code") or "").strip()
    if not code:
        raise OAuthError("Freesound sent no code back; press Connect again.")
    return code


def token_path(environ: dict | None = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "freesound-tagger" / TOKEN_FILE


class TokenFile:
    """One JSON file, written whole (temp file + rename), readable by its owner only."""

    def __init__(self, path: Path | None = None):
        self.path = Path(path) if path else token_path()

    def load(self) -> Tokens | None:
        try:
            return Tokens(**json.loads(self.path.read_text(encoding="utf-8")))
        except FileNotFoundError:
            return None
        except OSError as e:
            raise NotSignedInError(f"The token file {self.path} cannot be read ({e.strerror}); "
                                   f"fix its permissions or delete it and {SIGN_IN_AGAIN}") from e
        except (ValueError, TypeError) as e:
            raise NotSignedInError(f"The token file {self.path} is damaged ({type(e).__name__}); "
                                   f"delete it and {SIGN_IN_AGAIN}") from e

    def save(self, tokens: Tokens) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_json(self.path, asdict(tokens), indent=None, mode=0o600)  # private from the first byte

    def delete(self) -> bool:
        try:
            self.path.unlink()
            return True
        except FileNotFoundError:
            return False


class StateBook:
    """Authorize links handed out recently (state -> time), so a redirect can be checked even
    when it lands in another browser tab of the same app process."""

    def __init__(self, ttl_s: float = STATE_TTL_S):
        self.ttl_s, self._issued, self._lock = ttl_s, {}, threading.Lock()

    def issue(self) -> str:
        state = new_state()
        with self._lock:
            self._issued[state] = time.time()
        return state

    def take(self, state: str | None) -> bool:
        with self._lock:
            issued = self._issued.pop(str(state or ""), None)
        return issued is not None and time.time() - issued <= self.ttl_s


class Account:
    """The signed-in Freesound account: sign in with a code, hand out valid tokens, sign out."""

    def __init__(self, app: OAuthApp, tokens: TokenFile | None = None, timeout_s: float = 20.0):
        self.app, self.file, self.timeout_s = app, tokens or TokenFile(), timeout_s
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Account(api_url={self.app.api_url!r}, file={str(self.file.path)!r})"

    def tokens(self) -> Tokens:
        """The saved tokens for this API, or NotSignedInError saying how to sign in."""
        tokens = self.file.load()
        if tokens is None:
            raise NotSignedInError(f"Not signed in to Freesound: {SIGN_IN_AGAIN}.")
        if tokens.api_url.rstrip("/") != self.app.api_url:
            raise NotSignedInError(f"Signed in to {tokens.api_url}, not {self.app.api_url}: "
                                   f"{SIGN_IN_AGAIN}.")
        return tokens

    def signed_in(self) -> Tokens | None:
        try:
            return self.tokens()
        except NotSignedInError:
            return None

    def sign_in(self, code: str, whoami: Callable[[], str]) -> Tokens:
        """Exchange the code, save the tokens, and add the username `whoami()` (GET /me/ with
        them) gives; if that fails, nothing stays saved."""
        tokens = self._token_request({"grant_type": "authorization_code", "code": code.strip()})
        self.file.save(tokens)
        try:
            tokens = Tokens(**{**asdict(self.tokens()), "username": whoami()})
        except BaseException:
            self.file.delete()
            raise
        self.file.save(tokens)
        return tokens

    def sign_out(self) -> bool:
        """Forget the tokens here (they stay valid on Freesound until they expire)."""
        return self.file.delete()

    def access_token(self, force_refresh: bool = False) -> str:
        with self._lock:
            tokens = self.tokens()
            if force_refresh or tokens.expired():
                tokens = self._refresh(tokens)
            return tokens.access_token

    def _refresh(self, old: Tokens) -> Tokens:
        try:
            fresh = self._token_request({"grant_type": "refresh_token",
                                         "refresh_token": old.refresh_token})
        except CodeRejectedError as e:
            now = self.file.load()  # another process (the app, a cron feed) may have renewed it
            if now and now.refresh_token != old.refresh_token and not now.expired():
                return now
            raise TokenRevokedError(f"Freesound no longer accepts this sign-in (revoked or "
                                    f"expired): {SIGN_IN_AGAIN}.") from e
        except OAuthError as e:
            raise TokenRevokedError(f"Renewing the Freesound sign-in failed: {e}") from e
        fresh = Tokens(**{**asdict(fresh), "username": old.username})
        self.file.save(fresh)
        return fresh

    def _token_request(self, grant: dict) -> Tokens:
        url = f"{self.app.api_url}/oauth2/access_token/"
        data = {"client_id": self.app.client_id, "client_secret": self.app.client_secret, **grant}
        try:
            response = requests.post(url, data=data, timeout=self.timeout_s)
        except requests.RequestException as e:
            raise NetworkError(f"No answer from {url}: {type(e).__name__}; check the network and "
                               "try again") from e
        if response.status_code >= 400:
            raise self._token_error(response)
        return self._parse_tokens(response)

    def _token_error(self, response: requests.Response) -> OAuthError:
        try:
            body = response.json()
        except ValueError:
            body = {}
        error = str(body.get("error") or "") if isinstance(body, dict) else ""
        if error == "invalid_grant":
            return CodeRejectedError("Freesound rejected the authorization code: it is wrong, "
                                     "already used or older than 10 minutes. Press Connect (or "
                                     "run `login`) again for a new one.")
        if error in ("invalid_client", "unauthorized_client") or response.status_code == 401:
            return MissingCredentialsError("Freesound rejected the client id or secret: "
                                           f"{CREDENTIALS_HELP}")
        detail = error or api_detail(response)
        return OAuthError(f"Freesound's token endpoint answered {response.status_code} "
                          f"({detail[:200]}); try again later")

    def _parse_tokens(self, response: requests.Response) -> Tokens:
        try:
            body = response.json()
            return Tokens(access_token=str(body["access_token"]),
                          refresh_token=str(body["refresh_token"]),
                          expires_at=time.time() + float(body.get("expires_in", 86400)),
                          scope=str(body.get("scope", "")), api_url=self.app.api_url)
        except (ValueError, KeyError, TypeError) as e:
            raise OAuthError("Freesound's token endpoint answered without the tokens "
                             f"({type(e).__name__}); try again later") from e
