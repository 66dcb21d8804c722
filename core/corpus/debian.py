"""Fetch Debian data packages and unpack their sounds under build/: `apt-get download` (no install,
no root needed once the package lists are there), `dpkg-deb` for the files, and the audio members
of archives (zip-style: 0ad's public.zip, warzone's .wz; OpenClonk's .ocg groups) unpacked beside
them into `ARCHIVE.d/`."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path

from core.corpus.c4group import C4GroupError, members, read_group
from core.corpus.recorded_rules import Rules, check_not_reserved

AUDIO_SUFFIXES = (".ogg", ".wav", ".flac", ".mp3", ".wv")
ARCHIVE_SUFFIXES = (".zip", ".wz", ".pk3", ".ocg", ".ocd")
TAR_PATTERNS = [f"*{s}" for s in AUDIO_SUFFIXES + ARCHIVE_SUFFIXES] + ["*/copyright"]
DONE = ".unpacked"  # marker: the package folder is whole


class FetchError(RuntimeError):
    """apt-get or dpkg-deb failed; the message quotes them and says what to try."""


def fetch_packages(names: list[str], dest: Path, rules: Rules,
                   on_progress: Callable[[str], None] | None = None) -> list[Path]:
    """Each package unpacked to dest/NAME (skipped when already whole); returns the folders."""
    for name in names:
        check_not_reserved(name, rules)
    folders = []
    for name in names:
        folder = dest / name
        if not (folder / DONE).exists():
            if on_progress:
                on_progress(name)
            unpack_deb(download(name, dest / "debs"), folder)
        folders.append(folder)
    return folders


def download(name: str, debs: Path) -> Path:
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if found:
        return found[-1]
    if not shutil.which("apt-get"):
        raise FetchError(f"{name}: apt-get is not available; put {name}_*.deb into {debs} by hand")
    done = _apt_download(name, debs)
    if done.returncode != 0 and os.geteuid() == 0:  # a fresh machine may have no package lists yet
        subprocess.run(["apt-get", "update", "-qq"], capture_output=True)
        done = _apt_download(name, debs)
    found = sorted(debs.glob(f"{name}_*.deb"))
    if done.returncode != 0 or not found:
        why = (done.stderr.strip().splitlines() or ["no .deb written"])[-1]
        raise FetchError(f"apt-get download {name} failed: {why} (run `apt-get update` first?)")
    return found[-1]


def _apt_download(name: str, debs: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["apt-get", "download", "-q", name], cwd=debs, capture_output=True, text=True)


def unpack_deb(deb: Path, folder: Path) -> None:
    """The package's sounds, archives and copyright file into `folder`, then its archives' sounds."""
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    untar = subprocess.run(["tar", "-x", "-C", str(partial), "--wildcards", "--no-anchored",
                            *TAR_PATTERNS], stdin=tar.stdout, capture_output=True, text=True)
    tar.stdout.close()
    if tar.wait() != 0 or untar.returncode not in (0, 2):  # tar says 2 when a pattern matched nothing
        raise FetchError(f"cannot unpack {deb.name}: {untar.stderr.strip()[-300:]}")
    for archive in [p for p in partial.rglob("*") if p.suffix.lower() in ARCHIVE_SUFFIXES]:
        unpack_archive(archive)
    (partial / DONE).touch()
    shutil.rmtree(folder, ignore_errors=True)
    partial.rename(folder)


def unpack_archive(archive: Path) -> int:
    """The audio members of a zip-style or OpenClonk group archive into ARCHIVE.d/; returns how many.
    The archive is removed afterwards: the sounds are out, and the rest of 0ad's 3 GB is not needed."""
    if archive.is_dir():  # OpenClonk ships some groups unpacked, as folders
        return 0
    out, n = archive.with_name(archive.name + ".d"), 0
    for name, data in _archive_members(archive):
        target = (out / name).resolve()
        if not name.lower().endswith(AUDIO_SUFFIXES) or out.resolve() not in target.parents:
            continue  # not a sound, or a name that would leave the folder
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data())
        n += 1
    archive.unlink()
    return n


def _archive_members(archive: Path):
    """(name, a function returning the bytes) of every member; nothing for a file of another kind."""
    if archive.suffix.lower() in (".ocg", ".ocd"):
        try:
            buf = read_group(archive)
            return [(name, lambda data=data: data) for name, data in members(buf)]
        except (C4GroupError, OSError, EOFError, struct.error):
            return []
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile:
        return []
    return [(m.filename, lambda m=m: zf.read(m)) for m in zf.infolist() if not m.is_dir()]
