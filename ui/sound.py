"""A short error tone for bad scans; silently absent where there is no audio device."""

from __future__ import annotations

import logging
import math
from array import array
from typing import Any

log = logging.getLogger(__name__)


class Tone:
    """Plays a beep if pygame.mixer can start; under the dummy audio driver or without ALSA it does nothing."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._sound: Any = None
        self._tried = False
        self.played = 0

    def _load(self) -> Any:
        self._tried = True
        try:
            import pygame

            if not pygame.mixer.get_init():
                pygame.mixer.init(frequency=22050, size=-16, channels=1, buffer=512)
            freq, _size, channels = pygame.mixer.get_init()
            n = int(freq * 0.15)
            samples = array("h", (int(9000 * math.sin(2 * math.pi * 660 * i / freq)) for i in range(n) for _ in range(channels)))
            self._sound = pygame.mixer.Sound(buffer=samples.tobytes())
        except Exception as exc:  # no audio device, dummy driver, missing codec: the screen still says it
            log.info("no error tone: %s", exc)
            self._sound = None
        return self._sound

    def error(self) -> None:
        self.played += 1
        if not self.enabled:
            return
        sound = self._sound if self._tried else self._load()
        if sound is not None:
            try:
                sound.play()
            except Exception as exc:
                log.info("error tone failed: %s", exc)
