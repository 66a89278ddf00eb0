"""Blocks to ESC/POS bytes, built on python-escpos's Dummy (protocol apart from transport).

Text never goes through python-escpos's magic encoder (it switches code pages per character and picks pages
the printer prints as boxes, PITFALLS "python-escpos"): each job selects one code page (ESC t n, see
hal.textenc) right after ESC @, and every line is encoded in it.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hal.escpos_env import load_escpos
from hal.layout import Block, Code, Text
from hal.textenc import CodePage, code_page

if TYPE_CHECKING:  # python-escpos is imported lazily (hal.escpos_env); it ships no type hints
    from escpos.escpos import Escpos
    from escpos.printer import Dummy

INIT = b"\x1b@"
PAPER_STATUS = b"\x10\x04\x04"  # DLE EOT 4: roll paper sensor status


def new_dummy(profile: str | None = None) -> Dummy:
    """A python-escpos Dummy printer (the simulated printer keeps one; rendering uses throwaway ones)."""
    return load_escpos().Dummy(profile=profile)


@functools.lru_cache(maxsize=16)
def page_for(profile: str | None = None, name: str | None = None) -> CodePage:
    """The code page `name` (default PC858) numbered as printer `profile` numbers it (python-escpos's database)."""
    pages = new_dummy(profile).profile.get_code_pages()
    return code_page(name, pages if profile else None)


def render(blocks: Sequence[Block], profile: str | None = None, cut: bool = True, codepage: str | None = None) -> bytes:
    """ESC @, ESC t n (one code page for the whole job), the blocks, then feed and cut (GS V)."""
    printer = new_dummy(profile)
    page = page_for(profile, codepage)
    printer._raw(INIT + page.select)
    for block in blocks:
        if isinstance(block, Text):
            printer.set(align=block.align, bold=block.bold, normal_textsize=not block.tall, double_height=block.tall)
            printer._raw(_keep_width(block.text, page.printable(block.text)).encode(page.codec) + b"\n")
        elif isinstance(block, Code):
            _code(printer, block)
    printer.set(align="left", bold=False, normal_textsize=True)
    if cut:
        printer.cut()
    return printer.output


def _keep_width(original: str, spelled: str) -> str:
    """A transliteration longer than the text ("€" -> "EUR" on PC437) takes its room from the widest gap of
    spaces, so a right-aligned amount stays at the paper's edge instead of wrapping onto a line of its own."""
    extra = len(spelled) - len(original)
    while extra > 0:
        gaps = [(len(m.group()), m.start()) for m in re.finditer(r" {2,}", spelled)]
        if not gaps:
            break
        width, start = max(gaps)
        cut = min(extra, width - 1)
        spelled = spelled[:start] + spelled[start + cut:]
        extra -= cut
    return spelled


def _code(printer: Escpos, block: Code) -> None:
    if block.kind == "code128":
        # _hw_barcode, not barcode(): barcode() print()s its renderer choice to stdout on every call.
        printer._hw_barcode("{B" + block.data, "CODE128", height=64, width=2, pos="BELOW", font="B",
                            align_ct=True, function_type="B")
        printer._raw(b"\n")
    else:
        printer.set(align="center")
        printer.qr(block.data, native=True, size=5)
        printer._raw(b"\n")
    printer.set(align="left")


def kick(pin: int = 2, pulse_ms: int = 100) -> bytes:
    """ESC p m t1 t2: pulse the drawer on connector pin 2 (m=0) or 5 (m=1) for `pulse_ms` (2 ms units)."""
    on = max(1, min(255, round(pulse_ms / 2)))
    printer = new_dummy()
    printer.cashdraw([27, 112, 0 if pin == 2 else 1, on, on])
    return printer.output


def paper_state(status: bytes | None) -> str:
    """Decode a DLE EOT 4 answer: ok | low | out | unknown (no answer, or not a status byte)."""
    if not status:
        return "unknown"
    byte = status[-1]
    if byte & 0x93 != 0x12:  # fixed bits: 1 and 4 set, 0 and 7 clear
        return "unknown"
    if byte & 0x60:
        return "out"
    if byte & 0x0C:
        return "low"
    return "ok"
