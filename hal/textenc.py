"""Text for the printer: one code page chosen by us, transliteration for what it lacks, never a dropped character.

python-escpos's "magic" encoder picks a code page per character from its printer database: for "€" it may
pick ISO 8859-7 (ESC t 15), which Epson and Xprinter firmware print as a box. We never let it choose. A
receipt is sent in one code page (`CodePage`): PC858 by default (Multilingual Latin I with the euro sign,
ESC t 19 on Epson and Xprinter) or WPC1252 (ESC t 16), both listed by the printer databases; the ESC t
number comes from the printer profile when it lists the page. Whatever that page lacks is spelled in what
it has ("Ł" -> "L", "Москва" -> "Moskva", "–" -> "-", "€" -> "EUR" on PC437), or "?" with a log line.
"""

from __future__ import annotations

import codecs
import logging
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

__all__ = ["CODE_PAGES", "DEFAULT_CODE_PAGE", "CodePage", "Transliterator", "code_page", "code_page_names"]

# name -> (Python codec, ESC t number on Epson and Xprinter, the names printer databases give it)
CODE_PAGES: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "pc858": ("cp858", 19, ("CP858", "PC858")),     # Multilingual Latin I + euro
    "wpc1252": ("cp1252", 16, ("CP1252", "WPC1252")),  # Windows Latin 1 (euro at 0x80)
    "pc850": ("cp850", 2, ("CP850", "PC850")),      # Latin I, no euro
    "pc852": ("cp852", 18, ("CP852", "PC852")),     # Latin 2 (Central Europe), no euro
    "pc866": ("cp866", 17, ("CP866", "PC866")),     # Cyrillic #2, no euro
    "pc437": ("cp437", 0, ("CP437", "PC437")),      # USA: every ESC/POS printer has it
}
DEFAULT_CODE_PAGE = "pc858"

FALLBACK: dict[str, str] = {
    "€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "₽": "RUB", "₺": "TRY", "₩": "KRW", "₴": "UAH", "₪": "ILS",
    "„": '"', "“": '"', "”": '"', "«": '"', "»": '"', "‘": "'", "’": "'", "‚": ",", "‹": "<", "›": ">",
    "–": "-", "—": "-", "−": "-", "‐": "-", "…": "...", "•": "*", "·": ".", "×": "x", "÷": "/", "™": "TM",
    "©": "(C)", "®": "(R)", "°": "o", "½": "1/2", "¼": "1/4", "¾": "3/4", "●": "*", "■": "#",
    "ß": "ss", "Œ": "OE", "œ": "oe", "Æ": "AE", "æ": "ae", "Ł": "L", "ł": "l", "Đ": "D", "đ": "d",
    "Ø": "O", "ø": "o", "Ŧ": "T", "ŧ": "t", "ẞ": "SS", "Ħ": "H", "ħ": "h", "ı": "i", "Þ": "Th", "þ": "th",
    "Ð": "D", "ð": "d", "\u00a0": " ", "\t": " ", "\u202f": " ", "\u2009": " ",
}

# Greek (ELOT 743, simplified) and Cyrillic (Russian/Ukrainian, passport style) letters spelled in Latin.
_GREEK = dict(zip("αβγδεζηθικλμνξοπρσςτυφχψω",
                  ["a", "v", "g", "d", "e", "z", "i", "th", "i", "k", "l", "m", "n", "x", "o", "p", "r", "s", "s",
                   "t", "y", "f", "ch", "ps", "o"], strict=True))
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєґў",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "shch", "", "y", "", "e", "yu", "ya", "i", "yi", "ye",
                      "g", "u"], strict=True))
TRANSLIT: dict[str, str] = {}
for _lower, _latin in (*_GREEK.items(), *_CYRILLIC.items()):
    TRANSLIT[_lower] = _latin
    if _lower.upper() != _lower and _lower != "ς":
        TRANSLIT[_lower.upper()] = _latin.capitalize()


class Transliterator:
    """Maps each character the printer cannot print to a close spelling it can, or "?" (logged).

    `can_print(char)` answers whether the chosen code page has the character. CJK, with no code page on a
    European printer, comes out as "?" marks and a log line naming the character.
    """

    def __init__(self, can_print: Callable[[str], bool]) -> None:
        self.can_print = can_print
        self._cache: dict[str, str] = {}
        self.replaced: set[str] = set()

    def __call__(self, text: str) -> str:
        return "".join(self._char(char) for char in text)

    def _char(self, char: str) -> str:
        if " " <= char <= "~":
            return char
        if char not in self._cache:
            self._cache[char] = self._spell(char)
        return self._cache[char]

    def _spell(self, char: str) -> str:
        if unicodedata.category(char).startswith("C"):
            return FALLBACK.get(char, "?")
        if not _is_cjk(char) and self.can_print(char):
            return char
        for table in (FALLBACK, TRANSLIT):
            if char in table and all(self._char(c) == c for c in table[char]):
                return table[char]
        base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
        if base and base != char:
            spelled = "".join(self._char(c) for c in base)
            if "?" not in spelled:
                return spelled
        self.replaced.add(char)
        log.warning("printer cannot print %r (U+%04X); printing '?' instead", char, ord(char))
        return "?"


@dataclass(frozen=True)
class CodePage:
    """The one code page a printer prints in: `number` for ESC t, the Python `codec` for the bytes."""

    name: str
    codec: str
    number: int
    _spell: Transliterator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codec = self.codec

        def can_print(char: str) -> bool:
            try:
                char.encode(codec)
            except UnicodeEncodeError:
                return False
            return True

        object.__setattr__(self, "_spell", Transliterator(can_print))

    @property
    def select(self) -> bytes:
        """ESC t n: select this character code table."""
        return bytes((0x1B, 0x74, self.number))

    def printable(self, text: str) -> str:
        """`text` in characters this code page has (transliterated where it has not)."""
        return self._spell(text)

    def encode(self, text: str) -> bytes:
        return self.printable(text).encode(self.codec)

    @property
    def replaced(self) -> set[str]:
        """Characters printed as "?" so far."""
        return self._spell.replaced


def code_page_names() -> tuple[str, ...]:
    return tuple(CODE_PAGES)


def code_page(name: str | None = None, profile_pages: Mapping[str, str] | None = None) -> CodePage:
    """The code page `name` (default PC858) with its ESC t number from `profile_pages` ({name: number} as
    python-escpos's `profile.get_code_pages()` gives them, or {number: name} as its database and emupos's
    profiles list them) when the profile lists it, else the Epson/Xprinter number.

    A profile that lists code pages but not this one (e.g. python-escpos's "simple": only CP437) gets PC437,
    with a log line: sending a number the printer does not have would print boxes.
    """
    key = (name or DEFAULT_CODE_PAGE).lower()
    if key not in CODE_PAGES:
        raise ValueError(f"unknown printer code page {name!r}; use one of {', '.join(CODE_PAGES)}")
    codec, number, aliases = CODE_PAGES[key]
    if profile_pages:
        listed: dict[str, int] = {}
        for one, other in profile_pages.items():
            number_text, page = (str(one), str(other)) if str(one).isdigit() else (str(other), str(one))
            if number_text.isdigit():
                listed.setdefault(page.upper(), int(number_text))
        found = next((listed[alias] for alias in aliases if alias in listed), None)
        if found is None:
            log.warning("the printer profile lists no %s; printing in PC437 (transliterated)", key.upper())
            codec, number, _ = CODE_PAGES["pc437"]
            key = "pc437"
            number = listed.get("CP437", number)
        else:
            number = found
    codecs.lookup(codec)
    return CodePage(key, codec, number)


def _is_cjk(char: str) -> bool:
    return "\u2e80" <= char <= "\u9fff" or "\uac00" <= char <= "\ud7af" or "\uf900" <= char <= "\ufaff"
