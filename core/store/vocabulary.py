"""Tags typed by people -> the COALA vocabulary's own spelling, and suggestions for autocomplete.

Normalization follows Freesound's tag rules (lowercase; letters, digits and hyphens) and COALA's
preprocessing (English stop-words dropped, plurals singularized). COALA's singularizer mangled some
words, and those forms *are* the vocabulary (`bas` for bass, `glas`, `bras`, `synthesi`), so user
input is mapped onto them ("bass" -> `bas`, "drums" -> `drum`), never the reverse. A tag that maps
to no vocabulary entry is kept as typed (normalized) and marked out-of-vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from core.vocabulary import load_vocabulary

# NLTK's English stop-word list (what COALA's preprocessing dropped), apostrophes removed.
STOP_WORDS = frozenset("""
i me my myself we our ours ourselves you youre youve youll youd your yours yourself yourselves he
him his himself she shes her hers herself it its itself they them their theirs themselves what
which who whom this that thatll these those am is are was were be been being have has had having
do does did doing a an the and but if or because as until while of at by for with about against
between into through during before after above below to from up down in out on off over under
again further then once here there when where why how all any both each few more most other some
such no nor not only own same so than too very s t can will just don dont should shouldve now d
ll m o re ve y ain aren arent couldn couldnt didn didnt doesn doesnt hadn hadnt hasn hasnt haven
havent isn isnt ma mightn mightnt mustn mustnt needn neednt shan shant shouldn shouldnt wasn
wasnt weren werent won wont wouldn wouldnt
""".split())

# Plurals no suffix rule reaches (the vocabulary's form on the right).
IRREGULAR_PLURALS = {
    "children": "child", "men": "man", "women": "woman", "feet": "foot", "teeth": "tooth",
    "mice": "mouse", "geese": "goose", "people": "person", "data": "datum", "dice": "die",
}
# Suffix rules tried in order, each (plural ending, singular ending).
SUFFIX_RULES = (("ies", "y"), ("ves", "f"), ("ves", "fe"), ("es", ""), ("s", ""))
MAX_TAG_CHARS = 100  # longer tags are refused (Freesound's own tags are far shorter)
DROPPED_CHARS = re.compile(r"['\u2019`]")  # apostrophes vanish: "rock'n'roll" -> "rocknroll"
SEPARATORS = re.compile(r"[^a-z0-9-]+")  # anything else separates words
HYPHENS = re.compile(r"-{2,}")


class TagTooLongError(ValueError):
    """A typed tag longer than MAX_TAG_CHARS once cleaned: refused, never cut."""


@dataclass(frozen=True)
class NormalizedTag:
    tag: str  # the stored form: a vocabulary entry, or the cleaned input; "" when nothing is left
    in_vocabulary: bool  # True when `tag` is one of the 1000 COALA tags
    original: str  # exactly what was typed

    @property
    def empty(self) -> bool:
        """Nothing usable was typed (only punctuation or stop-words)."""
        return not self.tag


@lru_cache(maxsize=1)
def vocabulary_set() -> frozenset[str]:
    return frozenset(load_vocabulary())


@lru_cache(maxsize=1)
def spelled_aliases() -> frozenset[str]:
    """The real words behind the vocabulary's mangled forms ("bass" for `bas`, "synthesis" for
    `synthesi`), for autocomplete lists: without them, typing "bass" offers only `bassdrum`."""
    return frozenset(t + "s" for t in vocabulary_set()
                     if t.endswith(("s", "si")) and t + "s" not in vocabulary_set()
                     and normalize_tag(t + "s").tag == t)


def clean(text: str) -> str:
    """Freesound's form: ASCII-folded, lowercase, letters/digits/hyphens, stop-words dropped."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    folded = DROPPED_CHARS.sub("", folded.lower())
    words = [w.strip("-") for w in SEPARATORS.split(folded)]
    words = [w for w in words if w]
    if len(words) == 1 and words[0] in vocabulary_set():
        return words[0]  # a vocabulary entry is never a stop-word ("his", from "hiss")
    kept = [w for w in words if w not in STOP_WORDS]
    return HYPHENS.sub("-", "-".join(kept)).strip("-")


def singular_forms(word: str) -> list[str]:
    """Candidate singulars of `word`, nearest first (may include non-words)."""
    if word in IRREGULAR_PLURALS:
        return [IRREGULAR_PLURALS[word]]
    return [word[: -len(end)] + repl for end, repl in SUFFIX_RULES
            if word.endswith(end) and len(word) > len(end) + 1]


def vocabulary_form(tag: str) -> str | None:
    """The vocabulary entry `tag` stands for (itself, unhyphenated, or a singular), if any."""
    vocab = vocabulary_set()
    seen: list[str] = []
    frontier = [tag, tag.replace("-", "")]
    for _ in range(3):  # the word itself, then up to two singularization steps
        for cand in frontier:
            if cand in vocab:
                return cand
        seen += frontier
        frontier = [s for c in frontier for s in singular_forms(c) if s not in seen]
    return None


@lru_cache(maxsize=8192)
def normalize_tag(text: str) -> NormalizedTag:
    """One typed tag -> its stored form; spaces inside it become hyphens ("bass drum" -> bassdrum)."""
    cleaned = clean(text)
    if len(cleaned) > MAX_TAG_CHARS:
        raise TagTooLongError(f"a tag has at most {MAX_TAG_CHARS} characters; "
                              f"'{cleaned[:30]}…' has {len(cleaned)}: type a shorter tag")
    if not cleaned:
        return NormalizedTag("", False, text)
    form = vocabulary_form(cleaned)
    return NormalizedTag(form or cleaned, form is not None, text)


def normalize_tags(texts: list[str] | tuple[str, ...]) -> list[NormalizedTag]:
    """Several typed tags, duplicates (after normalization) dropped, order kept."""
    out: dict[str, NormalizedTag] = {}
    for text in texts:
        n = normalize_tag(text)
        out.setdefault(n.tag or f"\0{text}", n)
    return list(out.values())


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance, or limit + 1 as soon as it is certain to exceed `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def suggest(text: str, limit: int = 10) -> list[str]:
    """Vocabulary tags for what is typed: its own form, the vocabulary words inside it ("door
    creak": door, creak), then prefix matches, then close spellings."""
    cleaned = clean(text)
    query = cleaned.replace("-", "") or DROPPED_CHARS.sub("", text.strip().lower())
    if not query:
        return []
    vocab = sorted(vocabulary_set(), key=lambda t: (len(t), t))
    out: list[str] = []
    for word in [query, *cleaned.split("-")]:
        form = vocabulary_form(word) if word else None
        if form and form not in out:
            out.append(form)
    out += [t for t in vocab if t.startswith(query) and t not in out]
    max_dist = 1 if len(query) <= 4 else 2
    scored = [(edit_distance(query, t, max_dist), t) for t in vocab if t not in out]
    out += [t for d, t in sorted(scored) if d <= max_dist]
    return out[:limit]
