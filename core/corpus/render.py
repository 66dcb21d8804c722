"""Turn planned clips into mono 22 kHz waveforms: render every layer, mix, apply effects, augment."""

from __future__ import annotations

import numpy as np
import soundfile as sf

from core.audio import SAMPLE_RATE, to_mono_22k
from core.corpus import effects as fx
from core.corpus.fluid import FluidPart, RenderError, render_parts
from core.corpus.recipe import MAX_CLIP_S, ClipSpec, Layer, SynthPart
from core.corpus.speech import SpeechPart, render_speech
from core.corpus.synth import GENERATORS
from core.features import HOP_LENGTH, PATCH_FRAMES

SILENCE_PEAK = 1e-4  # a layer quieter than this rendered nothing (a key the preset lacks)
FADE_S = 0.01  # fade at cut points, so a cut release does not click
LEAD_SILENCE_P = 0.3  # chance of up to 0.5 s of silence before the sound, as in many recordings
MIX_MAX_S = PATCH_FRAMES * HOP_LENGTH / SAMPLE_RATE  # 2.23 s: a mixture fits in the model's patch


def render_layers(layers: list[Layer], rate: int = SAMPLE_RATE) -> list[np.ndarray]:
    """Every layer's raw sound, mono float32 at `rate`, peak-normalised (silent ones stay silent)."""
    out: list[np.ndarray | None] = [None] * len(layers)
    fluid = [i for i, layer in enumerate(layers) if isinstance(layer.part, FluidPart)]
    for i, clip in zip(fluid, render_parts([layers[i].part for i in fluid], rate), strict=True):
        out[i] = clip
    for i, layer in enumerate(layers):
        if isinstance(layer.part, SpeechPart):
            try:
                audio, got = render_speech(layer.part)
            except RenderError:  # one odd phrase: the clip is replaced, the corpus goes on
                audio, got = np.zeros(16, np.float32), rate
            out[i] = to_mono_22k(audio, got) if rate == SAMPLE_RATE else audio
        elif isinstance(layer.part, SynthPart):
            out[i] = GENERATORS[layer.part.generator](np.random.default_rng(layer.part.seed), rate)
    return [_finish_layer(x, layer, rate) for x, layer in zip(out, layers, strict=True)]


def _finish_layer(x: np.ndarray, layer: Layer, rate: int) -> np.ndarray:
    x = fx.pitch_shift(np.asarray(x, np.float32), rate, layer.semitones)
    x = _fade_out(x, rate)
    p = fx.peak(x)
    return (x / p).astype(np.float32) if p > SILENCE_PEAK else np.zeros_like(x)


def mix(spec: ClipSpec, layer_audio: list[np.ndarray], rate: int = SAMPLE_RATE) -> np.ndarray:
    """Sum the layers at their offsets and levels. A mixture is cut to the length of one patch, so
    every layer it is labelled with is inside the window the model sees."""
    starts = [int(layer.offset_s * rate) for layer in spec.layers]
    n = max(s + len(x) for s, x in zip(starts, layer_audio, strict=True))
    out = np.zeros(n, np.float64)
    for s, x, layer in zip(starts, layer_audio, spec.layers, strict=True):
        out[s:s + len(x)] += x * 10 ** (layer.gain_db / 20)
    if len(spec.layers) > 1 and len(out) > MIX_MAX_S * rate:
        out = _fade_out(out[: int(MIX_MAX_S * rate)], rate)
    return out


def finish_clip(spec: ClipSpec, mixed: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Tagged effects, untagged augmentations, level and length: the clip as a user would upload it."""
    rng = np.random.default_rng(spec.seed)
    x = mixed
    for name in spec.effects:
        x = fx.TAGGED[name](x, rate, rng)
    for name, effect, probability in fx.AUGMENTATIONS:
        if rng.random() < probability and not (name == "small_room" and "reverb" in spec.effects):
            x = effect(x, rate, rng)
    if rng.random() < LEAD_SILENCE_P:
        x = np.concatenate([np.zeros(int(rng.uniform(0, 0.5) * rate)), x])
    x = _fade_out(x[: int(MAX_CLIP_S * rate)], rate)
    level = 10 ** (rng.uniform(-24, -0.5) / 20)  # peak level of the file, dBFS
    p = fx.peak(x)
    return (x / p * level if p > 0 else x).astype(np.float32)


def render_clips(specs: list[ClipSpec], rate: int = SAMPLE_RATE) -> list[np.ndarray | None]:
    """Waveforms for the specs; None where the main layer came out silent or failed to render."""
    layers = [layer for spec in specs for layer in spec.layers]
    audio = render_layers(layers, rate)
    clips, k = [], 0
    for spec in specs:
        mine = audio[k:k + len(spec.layers)]
        k += len(spec.layers)
        if fx.peak(mine[0]) <= SILENCE_PEAK:
            clips.append(None)
            continue
        try:
            clips.append(finish_clip(spec, mix(spec, mine, rate), rate))
        except sf.LibsndfileError:  # a codec round trip the encoder refused: replace the clip
            clips.append(None)
    return clips


def _fade_out(x: np.ndarray, rate: int) -> np.ndarray:
    n = min(len(x), int(FADE_S * rate))
    if n > 1:
        x = x.copy()
        x[-n:] *= np.linspace(1.0, 0.0, n)
    return x
