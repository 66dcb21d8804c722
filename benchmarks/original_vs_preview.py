"""What an original file costs against its preview: bytes, download time and decode time, on the
project's fake Freesound on 127.0.0.1 (previews: ogg/vorbis 44.1 kHz stereo as soundfile writes
it; originals: 16-bit 44.1 kHz stereo wav, the most common upload format).

    python -m benchmarks.original_vs_preview [--sounds 10] [--seconds 10]

Loopback has no network in the way, so the download times are the client's own cost (the
limiter, the checks, writing the file); over a real connection the byte ratio is what counts.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from core.account import AccountClient
from core.audio import load_audio
from core.freesound import ClientConfig
from core.oauth import Account, OAuthApp, TokenFile
from tests.freesound_server import FakeFreesound
from tests.freesound_server_account import CLIENT_ID, CLIENT_SECRET


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def measure(fs: FakeFreesound, client: AccountClient, out: Path) -> dict[str, list]:
    rows = {"preview": [], "original": []}
    sounds = [s for page in client.search(page_size=150) for s in page.sounds]
    for sound in sounds:
        for kind in rows:
            dest = out / f"{sound.id}-{kind}.{'ogg' if kind == 'preview' else 'wav'}"
            url = sound.preview_url() if kind == "preview" else client.original_url(sound.id)
            got, download_s = timed(lambda url=url, dest=dest: client.download(
                url, dest, client.config.max_original_bytes))
            _, decode_s = timed(lambda dest=dest: load_audio(dest))
            rows[kind].append((got.size, download_s, decode_s))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, \
            FakeFreesound(n_sounds=args.sounds, preview_seconds=args.seconds) as fs:
        account = Account(OAuthApp(CLIENT_ID, CLIENT_SECRET, fs.api_url),
                          TokenFile(Path(tmp) / "token.json"))
        client = AccountClient(account, ClientConfig(api_url=fs.api_url, per_minute=10_000))
        account.sign_in(fs.account.grant_code(), client.me)
        rows = measure(fs, client, Path(tmp))
    print(f"{args.sounds} sounds of {args.seconds:g} s (medians per sound)")
    print("| audio | bytes | download | decode to 22 kHz mono |\n| --- | --- | --- | --- |")
    for kind, values in rows.items():
        size, down, dec = (statistics.median(v[i] for v in values) for i in range(3))
        print(f"| {kind} | {size / 1024:,.0f} KiB | {down * 1000:.1f} ms | {dec * 1000:.1f} ms |")
    ratio = statistics.median(o[0] / p[0] for p, o in zip(rows["preview"], rows["original"],
                                                             strict=True))
    print(f"original / preview bytes: x{ratio:.1f}")


if __name__ == "__main__":
    main()
