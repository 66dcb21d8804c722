"""The labelling rules of the recorded corpus (recordings.toml), read into frozen dataclasses and
checked: every tag must be a COALA token, every package of a pool must have rules, and no package
reserved for evaluation may be named anywhere."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import lru_cache
from pathlib import Path

from core.vocabulary import load_vocabulary

RULES_PATH = Path(__file__).parent / "recordings.toml"
POOLS = ("train", "val", "test")
WORDS_FROM_LAST = 2  # path words come from the file name and its folder, not the whole tree


class RulesError(ValueError):
    """recordings.toml is inconsistent: an unknown tag, a package without rules, a reserved one."""


class ReservedPackageError(RulesError):
    """A package kept for evaluation was asked for: it is never built into a corpus."""


@dataclass(frozen=True)
class Rule:
    match: str  # shell pattern over the path inside the unpacked package
    tags: tuple[str, ...] = ()  # tags every matching clip gets
    words: bool | tuple[str, ...] = True  # which path words may add tags (True: all, False: none)
    skip: bool = False  # matching clips are not used


@dataclass(frozen=True)
class Package:
    name: str  # the Debian package
    licence: str  # its licence, as the package's copyright file gives it
    rules: tuple[Rule, ...]  # first match wins


@dataclass(frozen=True)
class Limits:
    per_package: int  # clips at most from one package
    per_tag: int  # clips at most carrying one tag
    min_seconds: float  # shorter clips are dropped
    band_limited_below_hz: int  # a source rate under this is flagged as band-limited


@dataclass(frozen=True)
class Rules:
    words: dict  # path word -> tuple of tags
    packages: dict  # name -> Package
    pools: dict  # pool -> tuple of package names
    reserved: tuple[str, ...]  # shell patterns of package names never to build
    limits: Limits

    def labels(self, package: str, path: str) -> tuple[str, ...] | None:
        """The tags of the clip at `path` inside `package`; None when a rule skips it."""
        rule = next((r for r in self.packages[package].rules if fnmatchcase(path, r.match)), None)
        if rule is None or rule.skip:
            return None
        tags = list(rule.tags)
        for word in path_words(path):
            if rule.words is True or (rule.words and word in rule.words):
                tags.extend(self.words.get(word, ()))
        return tuple(dict.fromkeys(tags))

    def pool_of(self, package: str) -> str | None:
        return next((p for p, names in self.pools.items() if package in names), None)


def path_words(path: str) -> list[str]:
    """Lowercase words of the last path parts: `Footstep_GrassWalking2.ogg` -> footstep, grass, walking."""
    tail = "/".join(path.replace("!", "/").split("/")[-WORDS_FROM_LAST:])
    tail = tail.rsplit(".", 1)[0]
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", tail)
    return [w for w in re.split(r"[^a-zA-Z]+", spaced.lower()) if len(w) > 1]


def is_reserved(package: str, reserved: tuple[str, ...]) -> bool:
    return any(fnmatchcase(package, pattern) for pattern in reserved)


def check_not_reserved(package: str, rules: Rules) -> None:
    if is_reserved(package, rules.reserved):
        raise ReservedPackageError(f"{package} is reserved for evaluation and is never built into a "
                                   "training, validation or test corpus")


@lru_cache(maxsize=4)
def load_rules(path: str | Path = RULES_PATH) -> Rules:
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise RulesError(f"cannot read {path}: {e}") from e
    try:
        rules = _build(raw)
    except (KeyError, TypeError) as e:
        raise RulesError(f"{path}: missing or malformed field {e}") from e
    _validate(rules, path)
    return rules


def _build(raw: dict) -> Rules:
    packages = {name: Package(name, d["licence"], tuple(_rule(r) for r in d["rules"]))
                for name, d in raw["packages"].items()}
    return Rules({w: tuple(t) for w, t in raw["words"].items()}, packages,
                 {p: tuple(raw["pools"].get(p, ())) for p in POOLS}, tuple(raw["pools"]["reserved"]),
                 Limits(**raw["limits"]))


def _rule(d: dict) -> Rule:
    words = d.get("words", True)
    words = tuple(words) if isinstance(words, list) else bool(words)
    return Rule(d["match"], tuple(d.get("tags", ())), words, bool(d.get("skip", False)))


def _validate(rules: Rules, path: Path) -> None:
    vocabulary = set(load_vocabulary())
    used = {t for tags in rules.words.values() for t in tags}
    used |= {t for p in rules.packages.values() for r in p.rules for t in r.tags}
    unknown = sorted(used - vocabulary)
    if unknown:
        raise RulesError(f"{path}: tags not in the COALA vocabulary: {', '.join(unknown)}")
    for pool, names in rules.pools.items():
        for name in names:
            check_not_reserved(name, rules)
            if name not in rules.packages:
                raise RulesError(f"{path}: pool {pool} names {name}, which has no [packages] entry")
    for name in rules.packages:
        check_not_reserved(name, rules)
    seen = [n for names in rules.pools.values() for n in names]
    if len(seen) != len(set(seen)):
        raise RulesError(f"{path}: a package sits in two pools")
