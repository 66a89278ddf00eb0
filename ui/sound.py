"""Short tones: one for a refusal, a different one for a scan that was not understood; silent without audio.

The scan buzz is low and doubled (two 220 Hz pulses) so a cashier looking at
the customer, not the screen, knows the item did not go in; the general error
is one higher beep (660 Hz).
"""

from __future__ import annotations

import logging
import math
from array import array
from typing import Any

log = logging.getLogger(__name__)

# (frequency Hz, seconds) pulses, a silence between them
ERROR = ((660, 0.15),)
SCAN_ERROR = ((220, 0.12), (220, 0.12))
GAP = 0.07


def samples(pulses: tuple[tuple[int, float], ...], freq: int, channels: int) -> array:
    """16-bit signed samples of `pulses` at `freq` Hz, `channels` interleaved."""
    out = array("h")
    for i, (hz, seconds) in enumerate(pulses):
        if i:
            out.extend([0] * int(freq * GAP) * channels)
        n = int(freq * seconds)
        for k in range(n):
            v = int(9000 * math.sin(2 * math.pi * hz * k / freq))
            out.extend([v] * channels)
    return out


class Tone:
    """Plays a tone if pygame.mixer can start; under the dummy audio driver or without ALSA it does nothing.

    `played` counts every tone asked for, `kinds` lists them ("error", "scan"): tests read them.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._sounds: dict[str, Any] = {}
        self._tried = False
        self.played = 0
        self.kinds: list[str] = []

    def _load(self) -> None:
        self._tried = True
        try:
            import pygame

            if not pygame.mixer.get_init():
                pygame.mixer.init(frequency=22050, size=-16, channels=1, buffer=512)
            freq, _size, channels = pygame.mixer.get_init()
            for kind, pulses in (("error", ERROR), ("scan", SCAN_ERROR)):
                self._sounds[kind] = pygame.mixer.Sound(buffer=samples(pulses, freq, channels).tobytes())
        except Exception as exc:  # no audio device, dummy driver, missing codec: the screen still says it
            log.info("no error tone: %s", exc)
            self._sounds = {}

    def _play(self, kind: str) -> None:
        self.played += 1
        self.kinds.append(kind)
        if not self.enabled:
            return
        if not self._tried:
            self._load()
        sound = self._sounds.get(kind)
        if sound is not None:
            try:
                sound.play()
            except Exception as exc:
                log.info("tone failed: %s", exc)

    def error(self) -> None:
        """A refusal or a fault: one beep."""
        self._play("error")

    def scan_error(self) -> None:
        """A scan that put nothing in the cart: a low double buzz, unlike any other sound."""
        self._play("scan")
