"""Text for the printer's code pages: keep what some code page can print, transliterate the rest, never drop."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable

log = logging.getLogger(__name__)

FALLBACK: dict[str, str] = {
    "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₽": "RUB", "₺": "TRY", "₩": "KRW",
    "„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": ",",
    "–": "-", "—": "-", "−": "-", "…": "...", "•": "*", "·": ".", "×": "x", "™": "TM", "©": "(C)", "®": "(R)",
    "ß": "ss", "Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d",
    "Ø": "O", "ø": "o", "Ŧ": "T", "ŧ": "t", "ẞ": "SS", "Ħ": "H", "ħ": "h", "ı": "i", "Þ": "Th", "þ": "th", "\u00a0": " ", "\t": " ",
}


class Transliterator:
    """Maps each character the printer cannot print to a close ASCII spelling, or "?" (logged).

    `can_print(char)` answers whether any code page of the printer profile has the character; python-escpos's
    magic encoding then switches code pages on its own. CJK is transliterated too: magic encoding would send
    the whole line as GB18030, which a European printer prints as garbage.
    """

    def __init__(self, can_print: Callable[[str], bool]) -> None:
        self.can_print = can_print
        self._cache: dict[str, str] = {}
        self.replaced: set[str] = set()

    def __call__(self, text: str) -> str:
        return "".join(self._char(char) for char in text)

    def _char(self, char: str) -> str:
        if " " <= char <= "~" or char == "\n":
            return char
        if char not in self._cache:
            self._cache[char] = self._spell(char)
        return self._cache[char]

    def _spell(self, char: str) -> str:
        if unicodedata.category(char).startswith("C"):
            return "?" if char not in FALLBACK else FALLBACK[char]
        if not _is_cjk(char) and self.can_print(char):
            return char
        if char in FALLBACK:
            return FALLBACK[char]
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if base and base != char and all(" " <= c <= "~" or self._char(c) == c for c in base):
            return base
        self.replaced.add(char)
        log.warning("printer cannot print %r (U+%04X); printing '?' instead", char, ord(char))
        return "?"


def _is_cjk(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" or "\uf900" <= char <= "\ufaff"
