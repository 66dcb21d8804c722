"""What each clip of a corpus will be: its layers, effects and tags, drawn from (seed, index) alone.

Planning is cheap and pure, so a corpus is reproducible and any clip can be re-planned by index.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.corpus.catalog import Catalog, Pool, Source
from core.corpus.fluid import FluidPart, NoteEvent
from core.corpus.speech import SpeechPart
from core.corpus.synth import log_uniform

GM_DRUM_CHANNEL = 9
CHORDS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 11), (0, 3, 7, 10), (0, 5, 7), (0, 7, 12), (0, 4, 7, 10))
SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10), (0, 2, 4, 7, 9), (0, 3, 5, 7, 10))
STRUMMED = {"nylon_guitar", "steel_guitar", "electric_guitar", "distorted_guitar", "harp"}
MAX_TAGGED_EFFECTS = 2
MAX_CLIP_S = 10.0  # clips are cut here, so every clip is padded to COALA's 10 s the same way


@dataclass(frozen=True)
class SynthPart:
    generator: str  # a name in core.corpus.synth.GENERATORS
    seed: int  # the generator's seed


@dataclass(frozen=True)
class Layer:
    source: str  # source name in the catalog
    part: FluidPart | SpeechPart | SynthPart  # what renders it
    tags: tuple[str, ...]  # the source's, articulation's and voice's tags
    gain_db: float  # level in the mix, 0 for the main layer
    offset_s: float  # start within the clip
    semitones: float  # pitch shift by resampling, 0 for none


@dataclass(frozen=True)
class ClipSpec:
    clip_id: int  # the id written to the HDF5 file
    layers: tuple[Layer, ...]  # mixed together
    effects: tuple[str, ...]  # tagged effects, in signal-chain order
    seed: int  # seeds every random choice made while rendering
    tags: tuple[str, ...]  # the clip's labels, sorted

    @property
    def main_source(self) -> str:
        return self.layers[0].source


def clip_id(seed: int, index: int) -> int:
    """Unique within a corpus and across seeds below 2,000; fits the int32 `id` column."""
    if not 0 <= index < 1_000_000:
        raise ValueError(f"clip index {index} out of range (a corpus holds at most 1,000,000 clips)")
    return (seed % 2000) * 1_000_000 + index


def plan_clip(catalog: Catalog, pool_name: str, seed: int, index: int) -> ClipSpec:
    rng = np.random.default_rng([seed, index])
    pool = catalog.pools[pool_name]
    main_kind = _choose_kind(catalog, rng)
    layers = [plan_layer(catalog, pool, _choose_source(catalog, main_kind, rng), rng)]
    if rng.random() < catalog.mixture_probability:
        other_kind = _choose_kind(catalog, rng)
        second = _choose_source(catalog, other_kind, rng)
        if second.name != layers[0].source:
            layer = plan_layer(catalog, pool, second, rng)
            layers.append(Layer(layer.source, layer.part, layer.tags, rng.uniform(-6, 0),
                                rng.uniform(0, 0.5), layer.semitones))
    main = catalog.source(layers[0].source)
    inaudible = set(main.params.get("no_effects", ()))
    effects = [name for name, rule in catalog.effects.items()
               if rng.random() < rule.probability and name not in inaudible and main.kind in rule.kinds]
    rng.shuffle(effects)
    effects = _chain_order(effects[:MAX_TAGGED_EFFECTS])
    tags = {t for layer in layers for t in layer.tags}
    tags.update(t for e in effects for t in catalog.effects[e].tags)
    return ClipSpec(clip_id(seed, index), tuple(layers), tuple(effects),
                    int(rng.integers(0, 2**31 - 1)), tuple(sorted(tags)))


def plan_corpus(catalog: Catalog, pool_name: str, seed: int, n: int) -> list[ClipSpec]:
    return [plan_clip(catalog, pool_name, seed, i) for i in range(n)]


def plan_layer(catalog: Catalog, pool: Pool, source: Source, rng: np.random.Generator) -> Layer:
    planner = {"instrument": _instrument, "drum": _drum, "pattern": _pattern, "speech": _speech,
               "synth": _synth}[source.kind]
    part, extra_tags, semitones = planner(catalog, pool, source, rng)
    tags = tuple(dict.fromkeys(source.tags + extra_tags))
    return Layer(source.name, part, tags, 0.0, 0.0, semitones)


def _choose_kind(catalog: Catalog, rng: np.random.Generator) -> str:
    kinds = list(catalog.kind_weights)
    w = np.array([catalog.kind_weights[k] for k in kinds], float)
    return kinds[int(rng.choice(len(kinds), p=w / w.sum()))]


def _choose_source(catalog: Catalog, kind: str, rng: np.random.Generator) -> Source:
    sources = catalog.of_kind(kind)
    w = np.array([s.weight for s in sources], float)
    return sources[int(rng.choice(len(sources), p=w / w.sum()))]


def _chain_order(effects: list[str]) -> list[str]:
    from core.corpus.effects import TAGGED_ORDER
    return [e for e in TAGGED_ORDER if e in effects]


# --- per kind ----------------------------------------------------------------------------------------
def _instrument(catalog: Catalog, pool: Pool, source: Source, rng: np.random.Generator):
    font = catalog.soundfonts[str(rng.choice(pool.soundfonts))]
    program = int(rng.choice(source.params["programs"]))
    articulation = str(rng.choice(source.params["articulations"]))
    lo, hi = source.params["range"]
    velocity = int(rng.integers(45, 128))
    if articulation == "chord":
        notes = _chord(rng, lo, hi, velocity, strum=source.name in STRUMMED)
    elif articulation == "melody":
        notes = _melody(rng, lo, hi, velocity)
    else:  # note or event: one key
        notes = (NoteEvent(0, log_uniform(rng, 0.08, 4.0) * 1000, int(rng.integers(lo, hi + 1)), velocity),)
    release_ms = log_uniform(rng, 150, 1500)
    length = min(MAX_CLIP_S * 1000, max(n.start_ms + n.duration_ms for n in notes) + release_ms)
    part = FluidPart(font.path, 0, program, 0, notes, length)
    semitones = rng.uniform(-2, 2) if rng.random() < 0.25 else 0.0  # shifts the samples' formants
    return part, catalog.articulations[articulation], semitones


def _chord(rng: np.random.Generator, lo: int, hi: int, velocity: int, strum: bool) -> tuple[NoteEvent, ...]:
    shape = CHORDS[int(rng.integers(0, len(CHORDS)))]
    root = int(rng.integers(lo, max(lo + 1, hi - max(shape))))
    duration = log_uniform(rng, 0.2, 4.0) * 1000
    step = rng.uniform(10, 40) if strum and rng.random() < 0.7 else 0.0
    return tuple(NoteEvent(i * step, duration, root + iv, max(1, velocity - int(rng.integers(0, 15))))
                 for i, iv in enumerate(shape) if root + iv <= 127)


def _melody(rng: np.random.Generator, lo: int, hi: int, velocity: int) -> tuple[NoteEvent, ...]:
    scale = SCALES[int(rng.integers(0, len(SCALES)))]
    root = int(rng.integers(lo, max(lo + 1, hi - 12)))
    keys = [root + 12 * o + d for o in range(-1, 3) for d in scale if lo <= root + 12 * o + d <= hi]
    beat = log_uniform(rng, 0.1, 0.5) * 1000
    legato = rng.uniform(0.4, 1.0)
    pos = int(rng.integers(0, len(keys)))
    notes, t = [], 0.0
    for _ in range(int(rng.integers(3, 13))):
        pos = int(np.clip(pos + rng.integers(-3, 4), 0, len(keys) - 1))
        length = beat * float(rng.choice([0.5, 1, 1, 1, 2]))
        notes.append(NoteEvent(t, length * legato, keys[pos], max(1, velocity - int(rng.integers(0, 25)))))
        t += length
    return tuple(notes)


def _kit(catalog: Catalog, pool: Pool, rng: np.random.Generator,
         keys: tuple[int, ...]) -> tuple[str, int, int, int, list[int]]:
    """(soundfont path, bank, program, channel, playable keys) of a pool's drum kit that plays `keys`."""
    fonts = [catalog.soundfonts[f] for f in pool.drumkits]
    fonts = [f for f in fonts if any(f.plays(k) for k in keys)]
    if not fonts:
        raise ValueError(f"no drum kit of pool {pool.name!r} plays any of the keys {keys}")
    font = fonts[int(rng.integers(0, len(fonts)))]
    program = int(rng.choice(font.kits))
    channel = GM_DRUM_CHANNEL if font.kit_bank == 128 else 0
    return font.path, font.kit_bank, program, channel, [k for k in keys if font.plays(k)]


def _drum(catalog: Catalog, pool: Pool, source: Source, rng: np.random.Generator):
    path, bank, program, channel, keys = _kit(catalog, pool, rng, tuple(source.params["keys"]))
    hits = int(rng.choice([1, 1, 1, 1, 2, 3, 4]))
    spacing = log_uniform(rng, 80, 500)
    notes = tuple(NoteEvent(i * spacing, 50, int(rng.choice(keys)), int(rng.integers(40, 128)))
                  for i in range(hits))
    tail = log_uniform(rng, 60, 2500)  # many short one-shots: the release is cut here
    semitones = rng.uniform(-4, 4) if rng.random() < 0.3 else 0.0
    return FluidPart(path, bank, program, channel, notes, (hits - 1) * spacing + tail), (), semitones


@dataclass(frozen=True)
class Groove:
    """How a drum pattern plays, on a grid of sixteen sixteenth notes a bar."""
    kicks: tuple[int, ...]  # steps that always get a kick
    snares: tuple[int, ...]  # steps that always get a snare
    extra_kick: float  # chance of a kick on any other step
    extra_snare: float  # chance of a (ghost) snare on any other step
    hat_every: tuple[int, ...]  # hats every this many steps (one drawn per clip)
    hat_offset: int  # on steps where step % hat_every equals this
    open_hat: float  # chance a hat is open rather than closed
    swing: float  # at most this fraction of a step late on the offbeat eighths


GROOVES = {  # the `groove` of a pattern source in sources.toml
    "backbeat": Groove((0, 8), (4, 12), 0.12, 0.05, (1, 2, 2, 4), 0, 0.08, 0.0),
    "house": Groove((0, 4, 8, 12), (4, 12), 0.02, 0.03, (4,), 2, 0.9, 0.0),
    "techno": Groove((0, 4, 8, 12), (4, 12), 0.03, 0.05, (1,), 0, 0.1, 0.0),
    "breakbeat": Groove((0, 10), (4, 12), 0.1, 0.15, (2,), 0, 0.1, 0.0),
    "boom_bap": Groove((0, 7, 10), (4, 12), 0.05, 0.03, (2,), 0, 0.05, 0.35),
}


def _pattern(catalog: Catalog, pool: Pool, source: Source, rng: np.random.Generator):
    groove = GROOVES[source.params.get("groove", "backbeat")]
    path, bank, program, channel, _ = _kit(catalog, pool, rng, (36, 38, 42, 46))
    lo, hi = source.params.get("bpm", (70, 180))
    step = 60_000 / rng.uniform(lo, hi) / 4  # sixteenth notes
    steps = 16 * int(rng.choice([1, 2])) if step * 32 < MAX_CLIP_S * 1000 else 16
    hat_every = int(rng.choice(groove.hat_every))
    late = step * rng.uniform(0, groove.swing)
    notes = []
    for s in range(steps):
        t = s * step + (late if s % 4 == 2 else 0.0)
        if s % 16 in groove.kicks or rng.random() < groove.extra_kick:
            notes.append(NoteEvent(t, 40, 36, int(rng.integers(90, 128))))
        if s % 16 in groove.snares:
            notes.append(NoteEvent(t, 40, 38, int(rng.integers(80, 128))))
        elif rng.random() < groove.extra_snare:
            notes.append(NoteEvent(t, 40, 38, int(rng.integers(30, 80))))
        if s % hat_every == groove.hat_offset:
            hat = 46 if rng.random() < groove.open_hat else 42
            notes.append(NoteEvent(t, 40, hat, int(rng.integers(50, 110))))
    return FluidPart(path, bank, program, channel, tuple(notes), steps * step + 300), (), 0.0


def _speech(catalog: Catalog, pool: Pool, source: Source, rng: np.random.Generator):
    language = str(rng.choice(source.params["languages"]))
    variant = str(rng.choice(pool.voices))
    form = str(rng.choice(source.params["forms"]))
    robot = source.params.get("processing") == "robot"
    words = catalog.texts.get(source.name, catalog.texts["english"])
    text = _text(form, words, rng)
    part = SpeechPart(text, language, variant, int(rng.integers(100, 240)), int(rng.integers(20, 80)), robot)
    voice_tags = () if robot else catalog.voice_tags[catalog.voice_kind[variant]]
    semitones = rng.uniform(-2, 2) if rng.random() < 0.2 else 0.0
    return part, catalog.speech_forms[form] + voice_tags, semitones


def _text(form: str, words: tuple[str, ...], rng: np.random.Generator) -> str:
    if form == "word":
        return str(rng.choice(words))
    if form == "number":
        return str(int(rng.integers(0, 10 ** int(rng.integers(1, 5)))))
    if form == "letter":
        return " ".join(rng.choice(list("abcdefghijklmnopqrstuvwxyz"), int(rng.integers(1, 4))))
    return " ".join(rng.choice(words, int(rng.integers(3, 12))))


def _synth(catalog: Catalog, pool: Pool, source: Source, rng: np.random.Generator):
    semitones = rng.uniform(-3, 3) if rng.random() < 0.2 else 0.0
    return SynthPart(source.params["generator"], int(rng.integers(0, 2**31 - 1))), (), semitones
