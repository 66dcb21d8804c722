"""The source table of the offline corpus (sources.toml), read into frozen dataclasses and checked:
every tag must be a token of the COALA vocabulary, every pool must name known soundfonts and voices.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from core.vocabulary import load_vocabulary

SOURCES_PATH = Path(__file__).parent / "sources.toml"
KINDS = ("instrument", "drum", "pattern", "speech", "synth")


class CatalogError(ValueError):
    """sources.toml is inconsistent: an unknown tag, pool member or missing field."""


class MissingSourceError(RuntimeError):
    """A renderer or soundfont the corpus needs is not installed; the message names the package."""


@dataclass(frozen=True)
class Source:
    name: str  # unique name, e.g. "piano"
    kind: str  # one of KINDS
    tags: tuple[str, ...]  # COALA tags every clip of this source carries
    weight: float  # relative chance of being drawn among sources of its kind
    params: dict = field(default_factory=dict, hash=False)  # the rest of its entry (programs, ...)


@dataclass(frozen=True)
class SoundFont:
    name: str  # short name used by pools, e.g. "FluidR3"
    path: str  # the .sf2/.sf3 file
    package: str  # the Debian package that installs it
    kits: tuple[int, ...]  # drum-kit presets (programs) in bank `kit_bank`
    kit_bank: int = 128  # General MIDI soundfonts keep kits in bank 128; drum-only fonts in 0
    keys: tuple[int, ...] | None = None  # drum keys its kits play; None: the whole General MIDI map

    def plays(self, key: int) -> bool:
        return self.keys is None or key in self.keys


@dataclass(frozen=True)
class Pool:
    name: str  # train, val or holdout
    soundfonts: tuple[str, ...]  # melodic instruments come from these
    drumkits: tuple[str, ...]  # drum hits and patterns come from these
    voices: tuple[str, ...]  # espeak-ng voice variants


@dataclass(frozen=True)
class EffectRule:
    tags: tuple[str, ...]  # tags a clip gains when the effect is put on it
    probability: float  # chance per clip
    kinds: tuple[str, ...] = KINDS  # put only on clips whose main layer is of these kinds


@dataclass(frozen=True)
class Catalog:
    sources: tuple[Source, ...]  # every source of every kind
    pools: dict  # name -> Pool
    soundfonts: dict  # name -> SoundFont
    voice_kind: dict  # espeak variant -> "male", "female" or "whisper"
    voice_tags: dict  # "male"/"female"/"whisper" -> tags
    articulations: dict  # note/chord/melody/event -> tags
    speech_forms: dict  # sentence/word/number/letter -> tags
    effects: dict  # effect name -> EffectRule
    texts: dict  # language source name -> words
    kind_weights: dict  # kind -> chance of a clip's main layer being of that kind
    mixture_probability: float  # chance of a second layer

    def of_kind(self, kind: str) -> list[Source]:
        return [s for s in self.sources if s.kind == kind]

    def source(self, name: str) -> Source:
        for s in self.sources:
            if s.name == name:
                return s
        raise KeyError(f"no source named {name!r} in the catalog")

    def used_tags(self) -> list[str]:
        """Every tag a clip of this catalog can carry, sorted."""
        tags = {t for s in self.sources for t in s.tags}
        for group in (self.voice_tags, self.articulations, self.speech_forms):
            tags.update(t for ts in group.values() for t in ts)
        tags.update(t for e in self.effects.values() for t in e.tags)
        return sorted(tags)


@lru_cache(maxsize=4)
def load_catalog(path: str | Path = SOURCES_PATH) -> Catalog:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise CatalogError(f"cannot read {path}: {e}") from e
    try:
        catalog = _build(raw)
    except KeyError as e:
        raise CatalogError(f"{path}: missing field {e}") from e
    _validate(catalog, path)
    return catalog


def _build(raw: dict) -> Catalog:
    shared = {"pattern": tuple(raw.get("loops", {}).get("tags", ()))}  # [loops]: every drum loop's
    sources = tuple(_source(kind, entry, shared.get(kind, ()))
                    for kind in KINDS for entry in raw.get(kind, []))
    fonts = {name: SoundFont(name, d["path"], d["package"], tuple(d["kits"]), d.get("kit_bank", 128),
                             tuple(d["keys"]) if "keys" in d else None)
             for name, d in raw.get("soundfonts", {}).items()}
    pools = {name: Pool(name, tuple(d["soundfonts"]), tuple(d["drumkits"]), tuple(d["voices"]))
             for name, d in raw["pools"].items()}
    voice_kind = {v: kind for kind, names in raw.get("voices", {}).items() for v in names}
    effects = {name: EffectRule(tuple(d["tags"]), float(d["probability"]), tuple(d.get("kinds", KINDS)))
               for name, d in raw.get("effects", {}).items()}
    mix = raw["mix"]
    return Catalog(sources, pools, fonts, voice_kind, _tuples(raw.get("voice_tags", {})),
                   _tuples(raw.get("articulations", {})), _tuples(raw.get("speech_forms", {})),
                   effects, _tuples(raw.get("texts", {})), dict(mix["kinds"]),
                   float(mix["mixture_probability"]))


def _source(kind: str, entry: dict, shared_tags: tuple[str, ...] = ()) -> Source:
    params = {k: v for k, v in entry.items() if k not in ("name", "tags", "weight")}
    tags = tuple(dict.fromkeys(shared_tags + tuple(entry["tags"])))
    return Source(entry["name"], kind, tags, float(entry.get("weight", 1.0)), params)


def _tuples(d: dict) -> dict:
    return {k: tuple(v) for k, v in d.items()}


def _validate(c: Catalog, path: Path) -> None:
    known = set(load_vocabulary())
    unknown = sorted(set(c.used_tags()) - known)
    if unknown:
        raise CatalogError(f"{path}: tags not in the COALA vocabulary: {unknown}")
    names = [s.name for s in c.sources]
    if len(set(names)) != len(names):
        raise CatalogError(f"{path}: duplicate source names")
    for pool in c.pools.values():
        for font in pool.soundfonts + pool.drumkits:
            if font not in c.soundfonts:
                raise CatalogError(f"{path}: pool {pool.name!r} names unknown soundfont {font!r}")
        for voice in pool.voices:
            if voice not in c.voice_kind:
                raise CatalogError(f"{path}: pool {pool.name!r} names unknown voice {voice!r}")
    if set(c.kind_weights) - set(KINDS) or any(set(e.kinds) - set(KINDS) for e in c.effects.values()):
        raise CatalogError(f"{path}: [mix] and [effects] kinds must be among {KINDS}")
    _validate_kinds(c, path)


def _validate_kinds(c: Catalog, path: Path) -> None:
    """Every kind that can be drawn has sources, and every pool has what renders them."""
    needs = {"instrument": "soundfonts", "drum": "drumkits", "pattern": "drumkits", "speech": "voices"}
    for kind, weight in c.kind_weights.items():
        if weight <= 0:
            continue
        if not c.of_kind(kind):
            raise CatalogError(f"{path}: [mix] draws kind {kind!r} but no source is of that kind")
        for pool in c.pools.values():
            if kind in needs and not getattr(pool, needs[kind]):
                raise CatalogError(f"{path}: pool {pool.name!r} has no {needs[kind]} for {kind!r}")


def check_installed(catalog: Catalog, pool_name: str) -> None:
    """Raise MissingSourceError naming the Debian packages to install for this pool."""
    pool = catalog.pools[pool_name]
    needs = {"fluidsynth": bool(pool.soundfonts or pool.drumkits), "espeak-ng": bool(pool.voices)}
    missing = {exe for exe, needed in needs.items() if needed and shutil.which(exe) is None}
    for name in set(pool.soundfonts + pool.drumkits):
        font = catalog.soundfonts[name]
        if not Path(font.path).is_file():
            missing.add(font.package)
    if missing:
        raise MissingSourceError(
            f"pool {pool_name!r} needs Debian packages that are not installed: {sorted(missing)} "
            "(`make corpus` installs them through scripts/apt-install.sh)")
