"""`python -m core freesound login|logout|whoami|upload|status|update-tags`: your Freesound account.

The client id and secret come from $FREESOUND_CLIENT_ID and $FREESOUND_CLIENT_SECRET, never from
an argument (shell history). Tokens go to the token file (core/oauth.py) and are never printed.
"""

from __future__ import annotations

import argparse
import sys
from urllib.parse import parse_qs, urlsplit

from core.commands.common import add_threshold_option, fail

SUBCOMMANDS = ("login", "logout", "whoami", "upload", "status", "update-tags")


def register(sub) -> None:
    from core.account import LICENSES
    from core.settings import settings

    p = sub.add_parser("freesound", help="your Freesound account: sign in, upload, push tags",
                       description=__doc__)
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--api-url", default=settings().api_url, metavar="URL",
                        help="Freesound API base (default $FREESOUND_API_URL, else the real API)")
    login = actions.add_parser("login", parents=[common], help="sign in with OAuth2")
    login.add_argument("--code", default=None, help="the authorization code (else: asked for)")
    actions.add_parser("logout", parents=[common], help="forget the tokens kept here")
    actions.add_parser("whoami", parents=[common], help="the signed-in Freesound user")
    with_sound = argparse.ArgumentParser(add_help=False, parents=[common])
    with_sound.add_argument("sound", metavar="SOUND", help="store id or path of a stored sound")
    with_sound.add_argument("--db", default=None, metavar="FILE", help="tag store")
    add_threshold_option(with_sound)
    asked = argparse.ArgumentParser(add_help=False)
    asked.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    up = actions.add_parser("upload", parents=[with_sound, asked],
                            help="upload a stored sound with its final tags")
    up.add_argument("--license", required=True, choices=LICENSES, metavar="LICENSE",
                    help="one of: " + ", ".join(f'"{x}"' for x in LICENSES))
    up.add_argument("--description", required=True, metavar="TEXT")
    up.add_argument("--name", default=None, help="title on Freesound (default: the sound's name)")
    up.add_argument("--pack", default=None, help="pack name")
    up.add_argument("--tags", nargs="+", default=None, metavar="TAG",
                    help="tags to send instead of the sound's final tags (at least 3)")
    up.add_argument("--geotag", default=None, metavar="LAT,LON,ZOOM")
    actions.add_parser("status", parents=[with_sound], help="where an upload stands")
    actions.add_parser("update-tags", parents=[with_sound, asked],
                       help="send the final tags of your own sound to Freesound")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from core.freesound import FreesoundError
    from core.store import SoundNotFoundError, StoreError

    handler = {"login": _login, "logout": _logout, "whoami": _whoami, "upload": _upload,
               "status": _status, "update-tags": _update_tags}[args.action]
    try:
        return handler(args)
    except (FreesoundError, StoreError, SoundNotFoundError, ValueError, OSError) as e:
        return fail(str(e), code=1)
    except EOFError:
        return fail("no code was given; nothing changed", code=1)


def _account(args):
    """The signed-in account and its client, counting requests in the same file as the feed and
    the app (the settings' request counter, beside the tag store)."""
    from core.account import AccountClient
    from core.freesound import ClientConfig
    from core.oauth import Account, resolve_oauth_app
    from core.settings import settings

    account = Account(resolve_oauth_app(api_url=args.api_url))
    counter = settings().with_db(getattr(args, "db", None)).request_counter
    return account, AccountClient(account, ClientConfig(api_url=account.app.api_url,
                                                        rate_state=counter))


def _login(args) -> int:
    from core.oauth import authorize_url, check_redirect, new_state

    account, client = _account(args)
    code = args.code
    if not code:
        state = new_state()
        print("Open this page, sign in to Freesound and choose Authorize:\n\n  "
              f"{authorize_url(account.app, state)}\n")
        typed = input("Then paste the code Freesound shows (or the whole address it sent you "
                      "to): ").strip()
        code = _code_from(typed, state, check_redirect)
    tokens = account.sign_in(code, client.me)
    print(f"Signed in to Freesound as {tokens.username} (tokens kept in {account.file.path}, "
          "readable by you only).")
    return 0


def _code_from(typed: str, state: str, check_redirect) -> str:
    """A bare code, or the address Freesound redirected to (its `state` must be ours)."""
    if "code=" not in typed and "error=" not in typed:
        return typed
    params = {k: v[0] for k, v in parse_qs(urlsplit(typed).query or typed).items()}
    return check_redirect(params, params.get("state") == state)


def _logout(args) -> int:
    from core.oauth import TokenFile

    path = TokenFile().path
    if TokenFile(path).delete():
        print(f"Signed out: {path} is deleted. To withdraw this app's access on Freesound itself, "
              "see https://freesound.org/home/app_permissions/")
    else:
        print("Not signed in; nothing to do.")
    return 0


def _whoami(args) -> int:
    _, client = _account(args)
    print(client.me())
    return 0


def _store_sound(args):
    from core.store import SoundNotFoundError, TagStore

    store = TagStore(args.db)
    sound = store.find_sound(args.sound)
    if sound is None:
        raise SoundNotFoundError(f"no sound {args.sound!r} in {store.path}")
    return store, sound


def _confirm(args, question: str) -> bool:
    if args.yes:
        return True
    if not sys.stdin.isatty():
        print("Not confirmed: run it in a terminal, or add --yes.", file=sys.stderr)
        return False
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _upload(args) -> int:
    from core.account import UploadForm, freesound_tags
    from core.uploads import suggested_tags, upload_sound, uploadable

    store, sound = _store_sound(args)
    if uploadable(sound):
        return fail(f"sound {sound.id} is not uploaded: {uploadable(sound)}", code=1)
    tags = (freesound_tags(args.tags) if args.tags
            else suggested_tags(store, sound.id, args.threshold))
    form = UploadForm(name=args.name or sound.name, description=args.description,
                      license=args.license, tags=tags, pack=args.pack,
                      geotag=_geotag(args.geotag))
    if form.problems():
        return fail("not uploaded: " + "; ".join(form.problems()), code=1)
    account, client = _account(args)
    user = account.tokens().username
    print(f"Upload sound {sound.id} ({sound.name}) to Freesound as {user}:\n"
          f"  name: {form.name}\n  licence: {form.license}\n  tags: {' '.join(form.tags)}")
    if not _confirm(args, "Upload it?"):
        print("Nothing uploaded.")
        return 1
    done = upload_sound(client, store, sound.id, form)
    print(f"Uploaded: Freesound sound {done.freesound_id or '(id once described)'}, "
          f"{_state_text(done.upload_state)}.")
    return 0


def _geotag(text: str | None):
    if not text:
        return None
    try:
        lat, lon, zoom = text.split(",")
        return float(lat), float(lon), int(zoom)
    except ValueError as e:
        raise ValueError(f"--geotag takes LAT,LON,ZOOM (e.g. 41.38,2.17,14), not {text!r}") from e


def _state_text(state: str | None) -> str:
    from core.account import UPLOAD_STATES

    return UPLOAD_STATES.get(state or "", state or "not uploaded")


def _status(args) -> int:
    from core.uploads import refresh_upload_state

    store, sound = _store_sound(args)
    _, client = _account(args)
    done = refresh_upload_state(client, store, sound.id)
    print(f"Sound {sound.id} on Freesound ({done.freesound_id or 'no id yet'}): "
          f"{_state_text(done.upload_state)}")
    return 0 if done.upload_state not in ("gone", "processing_failed") else 1


def _update_tags(args) -> int:
    from core.uploads import push_tags, tags_to_push

    store, sound = _store_sound(args)
    _, client = _account(args)
    diff = tags_to_push(client, store, sound.id, args.threshold)
    print(f"Freesound now: {' '.join(diff.on_freesound) or '(none)'}\n"
          f"Curated:       {' '.join(diff.curated) or '(none)'}\n"
          f"  + {' '.join(diff.added) or '-'}\n  - {' '.join(diff.removed) or '-'}")
    if not diff.changed:
        print("Nothing to send: Freesound has these tags already.")
        return 0
    if not _confirm(args, "Send the curated tags to Freesound?"):
        print("Nothing sent.")
        return 1
    print(push_tags(client, store, sound.id, diff))
    return 0
