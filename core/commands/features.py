"""`python -m core features PATH --out FILE.npy`: the exact patch the model sees."""

from __future__ import annotations

import numpy as np

from core.audio import AudioError, load_audio
from core.commands.common import fail
from core.features import patch_for


def register(sub) -> None:
    p = sub.add_parser("features", help="write the scaled (96 mel x 96 time) float32 patch")
    p.add_argument("path", help="audio file")
    p.add_argument("--out", required=True, help="output .npy file")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        audio = load_audio(args.path)
    except AudioError as e:
        return fail(str(e), 1)
    patch = patch_for(audio.samples)
    np.save(args.out, patch.astype(np.float32))
    note = f" (first {audio.analysed_s:.0f} s analysed)" if audio.truncated else ""
    print(f"wrote {args.out}: shape {patch.shape}, float32{note}")
    return 0
