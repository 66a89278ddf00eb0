"""POS scale wire protocols, pure: Toledo 8217 and SMA (SCP-0499), for the host (parse) and the simulator (reply).

Toledo 8217 (Mettler Toledo "weight only" protocol, as POS scales and
scanner-scales speak it; 9600 baud, 7 data bits, even parity by default):
the host sends `W`; the scale answers `STX ww.www CR` (kg, an `N` before
the CR for a net weight) when the weight can be reported, else
`STX ? <status> CR`, one status byte whose bits are 0 in motion,
1 over capacity, 2 under zero, 3 outside the zero capture range,
4 centre of zero, 5 net weight, 6 bad command. A status byte with none of
bits 0-2 means "no change": the last weight still stands.

SMA (Scale Manufacturers Association SCP-0499, level 1): the host sends
`LF W CR`; the scale answers `LF s r n m f xxxxxx.xxx uuu CR`: status
(`Z` centre of zero, `O` over capacity, `U` under capacity, `E`/`I`/`T`
errors, space for none), range, gross/net, motion (`M` or space), a spare
character, the weight in a fixed 10-character field and a 3-character
unit; `LF ? CR` for a command it does not know, `LF ! CR` for a line error.

Parsers never raise: bytes in, `WeightRead` events out (status "stable",
"unstable", "overload", "under_zero" or "error"; weights in kg, 3 decimals).
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from hal.events import WeightRead

STX, CR, LF = 0x02, 0x0D, 0x0A
KG = Decimal("0.001")
MAX_FRAME = 64
PROTOCOLS = ("toledo8217", "sma")

# Toledo 8217 status byte bits
MOTION, OVER, UNDER, OUTSIDE_ZERO, CENTRE_ZERO, NET, BAD_COMMAND = (1 << bit for bit in range(7))

_UNITS_TO_KG = {"kg": Decimal(1), "g": Decimal("0.001")}


def _kg(text: str) -> Decimal | None:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        return None
    return value.quantize(KG) if value.is_finite() else None


class Toledo8217:
    """Host side of Toledo 8217: `request` asks for the weight; `feed(bytes)` returns the readings framed so far."""

    name = "toledo8217"
    request = b"W"

    def __init__(self) -> None:
        self._buf = bytearray()
        self._last: Decimal | None = None

    def feed(self, data: bytes) -> list[WeightRead]:
        self._buf += data
        out: list[WeightRead] = []
        while True:
            start = self._buf.find(bytes([STX]))
            if start < 0:
                self._buf.clear()
                return out
            del self._buf[:start]
            if len(self._buf) >= 2 and self._buf[1] == ord("?"):
                if len(self._buf) < 4:  # STX ? status CR; the status byte may itself be 0x0D
                    return out
                frame, status_ok = bytes(self._buf[:4]), self._buf[3] == CR
                del self._buf[:4]
                out.append(self._status(frame[2]) if status_ok else WeightRead("error", None, "garbled status reply"))
                continue
            end = self._buf.find(bytes([CR]))
            if end < 0:
                if len(self._buf) > MAX_FRAME:
                    self._buf.clear()
                    out.append(WeightRead("error", None, "reply without CR; check the baud rate and protocol"))
                return out
            frame = bytes(self._buf[1:end])
            del self._buf[: end + 1]
            out.append(self._weight(frame))

    def _weight(self, frame: bytes) -> WeightRead:
        text = frame.decode("ascii", "replace")
        net = text.endswith("N")
        weight = _kg(text.removesuffix("N"))
        if weight is None:
            return WeightRead("error", None, f"unreadable weight {text!r}; check the baud rate and protocol")
        self._last = weight
        return WeightRead("stable", weight, "net" if net else "")

    def _status(self, byte: int) -> WeightRead:
        if byte & BAD_COMMAND:
            return WeightRead("error", None, "the scale refused the weight request; is it set to Toledo 8217?")
        if byte & OVER:
            return WeightRead("overload", None)
        if byte & UNDER:
            return WeightRead("under_zero", None)
        if byte & MOTION:
            return WeightRead("unstable", None)
        if byte & CENTRE_ZERO:
            self._last = Decimal("0.000")
        if self._last is None:
            return WeightRead("error", None, "the scale sent a status but no weight yet")
        return WeightRead("stable", self._last, "net" if byte & NET else "")


class Sma:
    """Host side of SMA SCP-0499 level 1."""

    name = "sma"
    request = b"\nW\r"

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[WeightRead]:
        self._buf += data
        out: list[WeightRead] = []
        while True:
            start = self._buf.find(bytes([LF]))
            if start < 0:
                self._buf.clear()
                return out
            del self._buf[:start]
            end = self._buf.find(bytes([CR]))
            if end < 0:
                if len(self._buf) > MAX_FRAME:
                    self._buf.clear()
                    out.append(WeightRead("error", None, "reply without CR; check the baud rate and protocol"))
                return out
            frame = bytes(self._buf[1:end])
            del self._buf[: end + 1]
            if frame:
                out.append(self._reply(frame.decode("ascii", "replace")))

    @staticmethod
    def _reply(text: str) -> WeightRead:
        if text in ("?", "!"):
            return WeightRead("error", None, "the scale did not understand the request; is it set to SMA?"
                              if text == "?" else "line error; check the baud rate, parity and cable")
        if len(text) != 18:
            return WeightRead("error", None, f"unexpected reply {text!r}")
        status, motion, field, unit = text[0], text[3], text[5:15], text[15:18].strip().rstrip("_").lower()
        if status in "EIT":
            return WeightRead("error", None, {"E": "zero error", "I": "initial zero error", "T": "tare error"}[status]
                              + "; empty the scale and zero it")
        if status == "O":
            return WeightRead("overload", None)
        if status == "U":
            return WeightRead("under_zero", None)
        factor = _UNITS_TO_KG.get(unit)
        if factor is None:
            return WeightRead("error", None, f"the scale weighs in {unit!r}; set it to kg")
        weight = _kg(field)
        if weight is None:
            return WeightRead("error", None, f"unreadable weight {field!r}")
        weight = (weight * factor).quantize(KG)
        if motion == "M":
            return WeightRead("unstable", weight)
        return WeightRead("stable", weight, "net" if text[2] in "Nn" else "")


def host_codec(protocol: str) -> Toledo8217 | Sma:
    """A fresh parser for `protocol` ("toledo8217" or "sma")."""
    if protocol == "toledo8217":
        return Toledo8217()
    if protocol == "sma":
        return Sma()
    raise ValueError(f"unknown scale protocol {protocol!r}; use {' or '.join(PROTOCOLS)}")


# ---- the scale's side, for the simulator: what a scale with this weight would answer

def scale_reply(protocol: str, request: bytes, weight: Decimal, stable: bool, capacity: Decimal) -> bytes:
    """The reply of a scale holding `weight` kg to one `request` (b"W" for Toledo, b"W" between LF and CR for SMA)."""
    if protocol == "toledo8217":
        if request != b"W":
            return bytes([STX, ord("?"), BAD_COMMAND, CR])
        bits = (0 if stable else MOTION) | (OVER if weight > capacity else 0) | (UNDER if weight < 0 else 0)
        if bits:
            return bytes([STX, ord("?"), bits | (CENTRE_ZERO if weight == 0 else 0), CR])
        return bytes([STX]) + f"{weight.quantize(KG):06.3f}".encode("ascii") + bytes([CR])
    if request not in (b"W", b"P"):
        return b"\n?\r"
    status = "O" if weight > capacity else "U" if weight < 0 else "Z" if weight == 0 else " "
    field = f"{weight.quantize(KG):f}".rjust(10)
    return f"\n{status}1G{' ' if stable else 'M'} {field}kg \r".encode("ascii")
