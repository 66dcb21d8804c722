"""A minimal Standard MIDI File writer (format 0, one track), enough to drive FluidSynth.

Time is in milliseconds: the division is 500 ticks per quarter note at the default tempo of
500,000 microseconds per quarter note, so one tick is one millisecond.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

TICKS_PER_QUARTER = 500  # with the default tempo (120 bpm) one tick = 1 ms
DRUM_CHANNEL = 9  # General MIDI channel 10 (0-based 9) plays the drum kit
CC_BANK_MSB, CC_VOLUME, CC_ALL_SOUND_OFF, CC_RESET_ALL = 0, 7, 120, 121


@dataclass
class MidiTrack:
    """Channel events at absolute times in ms; `to_bytes` sorts and encodes them."""

    events: list[tuple[int, int, bytes]] = field(default_factory=list)  # (ms, order, message)

    def _add(self, ms: float, message: bytes, order: int) -> None:
        self.events.append((max(0, int(round(ms))), order, message))

    def program(self, ms: float, channel: int, program: int, bank: int = 0) -> None:
        self._add(ms, bytes([0xB0 | channel, CC_BANK_MSB, bank]), 1)
        self._add(ms, bytes([0xC0 | channel, program]), 2)

    def control(self, ms: float, channel: int, cc: int, value: int) -> None:
        self._add(ms, bytes([0xB0 | channel, cc, value]), 0 if cc >= CC_ALL_SOUND_OFF else 3)

    def note(self, ms: float, duration_ms: float, channel: int, key: int, velocity: int) -> None:
        self._add(ms, bytes([0x90 | channel, key, max(1, min(127, velocity))]), 5)
        self._add(ms + max(1.0, duration_ms), bytes([0x80 | channel, key, 0]), 4)

    def silence(self, ms: float, channel: int) -> None:
        """Cut every sound on the channel and reset its controllers."""
        self.control(ms, channel, CC_ALL_SOUND_OFF, 0)
        self.control(ms, channel, CC_RESET_ALL, 0)

    def to_bytes(self) -> bytes:
        body, now = bytearray(), 0
        for ms, _, message in sorted(self.events, key=lambda e: (e[0], e[1])):
            body += _varlen(ms - now) + message
            now = ms
        body += b"\x00\xff\x2f\x00"  # end of track
        header = b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_QUARTER)
        return header + b"MTrk" + struct.pack(">I", len(body)) + bytes(body)

    def write(self, path: str | Path) -> Path:
        Path(path).write_bytes(self.to_bytes())
        return Path(path)


def _varlen(value: int) -> bytes:
    """MIDI variable-length quantity: 7 bits per byte, high bit set on all but the last."""
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))
