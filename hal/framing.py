"""Scanner framing: turns a raw byte stream into ScanRead / ScanRejected events (pure, no I/O)."""

from __future__ import annotations

from hal.events import ScanRead, ScanRejected
from hal.urls import SUFFIXES

MAX_CODE = 64
_STRIP = b" \t\r\n\x00"


class Framer:
    """Splits bytes on the configured suffix and checks each frame is printable ASCII.

    Frames are stripped of surrounding blanks, CR/LF and NULs (power-on noise, a scanner sending CRLF while
    configured for CR); empty frames are ignored. A frame over `max_len` is rejected once and the rest of it
    dropped up to the next suffix. Check digits are not looked at: that is the register's job.
    """

    def __init__(self, suffix: str = "cr", max_len: int = MAX_CODE) -> None:
        self.terminator = SUFFIXES[suffix]
        self.suffix = suffix
        self.max_len = max_len
        self._buf = bytearray()
        self._discarding = False

    @property
    def pending(self) -> bool:
        """True while bytes of an unfinished frame are buffered."""
        return bool(self._buf.strip(_STRIP)) or self._discarding

    def feed(self, data: bytes) -> list[ScanRead | ScanRejected]:
        """Add bytes; returns the events of every frame they completed."""
        out: list[ScanRead | ScanRejected] = []
        self._buf += data
        while True:
            end = self._buf.find(self.terminator)
            if end < 0:
                break
            frame = bytes(self._buf[:end])
            del self._buf[: end + len(self.terminator)]
            if self._discarding:
                self._discarding = False
                continue
            event = self._judge(frame)
            if event is not None:
                out.append(event)
        if not self._discarding and len(self._buf.strip(_STRIP)) > self.max_len:
            out.append(ScanRejected(f"Scan longer than {self.max_len} characters was ignored; "
                                    "scan again or check the scanner's settings.", bytes(self._buf[:256])))
            self._buf.clear()
            self._discarding = True
        elif self._discarding:
            self._buf.clear()
        return out

    def flush(self) -> ScanRejected | None:
        """The line went quiet before a suffix came: drop the partial frame with a reason."""
        raw = bytes(self._buf)
        discarding, self._discarding = self._discarding, False
        self._buf.clear()
        if discarding or not raw.strip(_STRIP):
            return None
        return ScanRejected(f"Scan had no end-of-code suffix ({self.suffix.upper()}) and was ignored; "
                            f"set the scanner to send {self.suffix.upper()} after each code, or change "
                            "suffix= in hardware.scanner.", raw)

    def _judge(self, frame: bytes) -> ScanRead | ScanRejected | None:
        code = frame.strip(_STRIP)
        if not code:
            return None
        if len(code) > self.max_len:
            return ScanRejected(f"Scan longer than {self.max_len} characters was ignored; "
                                "scan again or check the scanner's settings.", frame[:256])
        if any(byte > 0x7E for byte in code):
            return ScanRejected("Scan contained non-ASCII bytes (line noise or a wrong baud rate); scan again.", frame)
        if any(byte < 0x20 for byte in code):
            return ScanRejected("Scan contained control characters (line noise or a wrong suffix setting); "
                                "scan again.", frame)
        return ScanRead(code.decode("ascii"))
