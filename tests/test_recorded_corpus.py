"""The recorded corpus on tiny packages the tests make: labels from the rules, archives read,
reserved packages refused, duplicates removed across pools, caps applied, HDF5 and manifest."""

from __future__ import annotations

import gzip
import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from core.corpus.c4group import HEADER_ID, SCRAMBLE_KEY, members, read_group
from core.corpus.debian import fetch_packages, unpack_archive
from core.corpus.recorded import RecordedConfig, build_recorded, plan_pool
from core.corpus.recorded_rules import ReservedPackageError, RulesError, load_rules, path_words
from core.dataset import read_coala
from core.vocabulary import decode_multi_hot
from tests.audio_factory import tone, write_audio

RULES = """
[limits]
per_package = 100
per_tag = {per_tag}
min_seconds = 0.05
band_limited_below_hz = 22050

[pools]
train = ["game-data", "voices-data"]
val = []
test = ["held-data"]
reserved = ["sonic-pi-samples", "wesnoth-*-data"]

[words]
footstep = ["footstep", "step"]
gravel = ["gravel"]
door = ["door"]
open = ["open"]
glass = ["glas"]
break = ["break"]

[packages.game-data]
licence = "CC-BY-SA-3.0"
rules = [
  {{ match = "*/music/*", tags = ["music"], words = false }},
  {{ match = "*/menu/*", skip = true }},
  {{ match = "*", words = true }},
]

[packages.voices-data]
licence = "GPL-2+"
rules = [{{ match = "*", tags = ["voice", "speech"], words = false }}]

[packages.held-data]
licence = "CC0"
rules = [{{ match = "*", words = true }}]
"""


def write_rules(folder: Path, per_tag: int = 100, extra: str = "") -> Path:
    path = folder / "rules.toml"
    path.write_text(RULES.format(per_tag=per_tag) + extra)
    load_rules.cache_clear()
    return path


def sound(path: Path, seed: int, seconds: float = 0.6, rate: int = 44_100) -> Path:
    return write_audio(path, tone(seconds, rate, 220.0 + 40 * seed, seed=seed), rate)


@pytest.fixture
def packages(tmp_path) -> Path:
    """game-data: a folder tree and a zip with two oggs; voices-data: three words; held-data: one
    sound that is also (byte for byte) in game-data."""
    root = tmp_path / "debian"
    game = root / "game-data" / "usr/share/games/game"
    sound(game / "footsteps/footstep_gravel1.ogg", 1)
    sound(game / "doors/door_open.ogg", 2)
    sound(game / "music/theme_door.ogg", 3, seconds=3.0)
    sound(game / "menu/click.ogg", 4)
    sound(game / "misc/whatever.ogg", 5)  # no word maps: no tag, not used
    with zipfile.ZipFile(game / "sounds.zip", "w") as zf:
        zf.write(sound(root / "tmp/a.ogg", 6), "audio/glass_break1.ogg")
        zf.write(sound(root / "tmp/b.ogg", 7), "audio/glass_break2.ogg")
        zf.writestr("audio/readme.txt", "not a sound")
    assert unpack_archive(game / "sounds.zip") == 2
    for i, word in enumerate(("hello", "yes", "no")):
        sound(root / "voices-data" / f"voices/{word}.ogg", 10 + i, rate=11_025)
    held = root / "held-data" / "sounds" / "door_open_copy.ogg"
    held.parent.mkdir(parents=True)
    shutil.copy(game / "doors/door_open.ogg", held)
    shutil.rmtree(root / "tmp")
    return root


def test_labels_come_from_the_rules_and_path_words(tmp_path, packages):
    rules = load_rules(write_rules(tmp_path))
    footstep = rules.labels("game-data", "x/footsteps/footstep_gravel1.ogg")
    assert footstep == ("footstep", "step", "gravel")
    assert rules.labels("game-data", "x/music/theme_door.ogg") == ("music",)  # words off for music
    assert rules.labels("game-data", "x/menu/click.ogg") is None
    assert rules.labels("game-data", "x/misc/whatever.ogg") == ()
    assert rules.labels("voices-data", "voices/open.ogg") == ("voice", "speech")
    assert path_words("a/b/Footstep_GrassWalking2.ogg") == ["footstep", "grass", "walking"]


def test_a_pool_takes_archives_drops_duplicates_and_untagged_clips(tmp_path, packages):
    rules = load_rules(write_rules(tmp_path))
    clips, dropped = plan_pool(RecordedConfig("-", "train", str(packages)), rules)
    paths = sorted(c.path.split("/")[-1] for c in clips)
    # door_open.ogg is also in the test pool's package: it stays there, out of training
    assert paths == ["footstep_gravel1.ogg", "glass_break1.ogg", "glass_break2.ogg", "hello.ogg",
                     "no.ogg", "theme_door.ogg", "yes.ogg"]
    assert dropped["duplicate content"] == 1
    glass = next(c for c in clips if c.path.endswith("glass_break1.ogg"))
    assert glass.tags == ("glas", "break") and "sounds.zip.d/audio/" in glass.path


def test_caps_limit_clips_per_tag(tmp_path, packages):
    rules = load_rules(write_rules(tmp_path, per_tag=2))
    clips, dropped = plan_pool(RecordedConfig("-", "train", str(packages)), rules)
    assert sum("voice" in c.tags for c in clips) == 2
    assert dropped["tag cap"] == 1


def test_reserved_packages_are_refused_everywhere(tmp_path):
    path = write_rules(tmp_path, extra='\n[packages.sonic-pi-samples]\nlicence = "CC0"\n'
                                        'rules = [{ match = "*" }]\n')
    with pytest.raises(ReservedPackageError, match="sonic-pi-samples is reserved"):
        load_rules(path)
    rules = load_rules(write_rules(tmp_path))
    with pytest.raises(ReservedPackageError, match="wesnoth-music-data"):
        fetch_packages(["wesnoth-music-data"], tmp_path / "debian", rules)
    load_rules.cache_clear()
    assert "sonic-pi-samples" in load_rules().reserved  # the project's own table keeps them out


def test_unknown_tags_are_refused_on_load(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULES.format(per_tag=5).replace('gravel = ["gravel"]', 'gravel = ["gravelly"]'))
    load_rules.cache_clear()
    with pytest.raises(RulesError, match="gravelly"):
        load_rules(path)


def test_the_projects_rules_load_with_every_tag_in_the_vocabulary():
    load_rules.cache_clear()
    rules = load_rules()
    assert rules.pools["test"] and rules.pools["val"] and len(rules.pools["train"]) >= 10
    assert not set(rules.pools["train"]) & set(rules.pools["test"])


@pytest.mark.parametrize("package, path, tags", [
    ("openarena-data", "usr/share/games/openarena/baseoa/pak0.pk3.d/sound/player/footsteps/splash2.wav",
     {"footstep", "step", "water", "splash"}),
    ("openarena-data", "usr/share/games/openarena/missionpack/mp-pak0.pk3.d/sound/voices/festivoxmale/a.wav",
     None),  # text-to-speech
    ("nexuiz-data", "usr/share/games/nexuiz/data/data.pk3.d/sound/misc/metalfootstep03.wav",
     {"footstep", "step", "metal"}),
    ("nexuiz-data", "usr/share/games/nexuiz/data/data.pk3.d/sound/weapons/rocket_fire.ogg", None),
    ("lugaru-data", "usr/share/games/lugaru/Sounds/FootStepSnow1.ogg", {"footstep", "step", "snow"}),
    ("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps/animals/birds/crow.ogg", {"animal", "bird"}),
    ("tuxpaint-stamps-default", "usr/share/tuxpaint/stamps/animals/birds/crow_desc_fr.ogg", None),
    ("extremetuxracer-data", "usr/share/games/etr/sounds/ice_slide.wav", {"ice", "slide"}),
])
def test_the_projects_rules_label_real_paths_of_the_added_packages(package, path, tags):
    load_rules.cache_clear()
    labels = load_rules().labels(package, path)
    assert (None if labels is None else set(labels)) == tags


def test_build_writes_patches_labels_and_a_manifest(tmp_path, packages):
    rules_path = write_rules(tmp_path)
    out = tmp_path / "train.h5"
    done = []
    summary = build_recorded(RecordedConfig(str(out), "train", str(packages), variants=1, workers=0,
                                            rules=str(rules_path)), lambda d, n: done.append((d, n)))
    assert summary.clips == 7 and summary.n == 14 and done[-1] == (7, 7)
    data = read_coala(out)
    assert data.data.shape == (14, 96, 96) and np.isfinite(data.data).all()
    rows = [json.loads(line) for line in out.with_suffix(".jsonl").read_text().splitlines()]
    assert len(rows) == 14 and {r["variant"] for r in rows} == {0, 1}
    hello = next(r for r in rows if r["path"].endswith("hello.ogg") and r["variant"] == 0)
    assert hello["band_limited"] and hello["sample_rate"] == 11_025 and hello["licence"] == "GPL-2+"
    assert len(hello["sha256"]) == 64 and 0.5 < hello["duration_s"] < 0.7
    for row, labels in zip(rows, data.labels, strict=True):
        assert set(decode_multi_hot(labels)) == set(row["tags"])
    original, copy = data.data[0], data.data[1]
    assert rows[0]["sha256"] == rows[1]["sha256"] and not np.allclose(original, copy)
    assert summary.tag_counts["voice"] == 3  # recordings, not their augmented copies


def _scramble(header: bytes) -> bytes:
    out = bytearray(header)
    for i in range(0, len(out) - 2, 3):
        out[i], out[i + 2] = out[i + 2], out[i]
    return bytes(b ^ SCRAMBLE_KEY for b in out)


def _group(files: dict[str, bytes | dict]) -> bytes:
    """An OpenClonk group holding `files` (a dict value is a sub-group), uncompressed."""
    datas = [_group(v) if isinstance(v, dict) else v for v in files.values()]
    header = HEADER_ID.ljust(28, b"\0") + struct.pack("<3i", 1, 2, len(files))
    entries, offset = b"", 0
    for (name, value), data in zip(files.items(), datas, strict=True):
        fields = struct.pack("<5i", 0, isinstance(value, dict), len(data), 0, offset)
        core = name.encode().ljust(260, b"\0") + fields
        entries += core.ljust(316, b"\0")
        offset += len(data)
    return _scramble(header.ljust(204, b"\0")) + entries + b"".join(datas)


def test_openclonk_groups_are_read_folders_and_all(tmp_path):
    wav = (tmp_path / "x.wav")
    write_audio(wav, tone(0.2, 22_050), 22_050)
    raw = gzip.compress(_group({"Hits.ocg": {"Glass.ocg": {"GlassBreak1.wav": wav.read_bytes()}},
                                "Readme.txt": b"hello"}))
    group = tmp_path / "Sound.ocg"
    group.write_bytes(b"\x1e\x8c" + raw[2:])
    assert [name for name, _ in members(read_group(group))] == ["Hits.ocg/Glass.ocg/GlassBreak1.wav",
                                                                 "Readme.txt"]
    assert unpack_archive(group) == 1
    out = tmp_path / "Sound.ocg.d/Hits.ocg/Glass.ocg/GlassBreak1.wav"
    assert out.read_bytes() == wav.read_bytes() and not group.exists()
