"""An ESC/POS interpreter for tests: bytes as a printer reads them, into the lines and codes a person would see.

Written from the Epson ESC/POS command reference, independently of python-escpos (which made the bytes):
ESC @ resets the printer (code page 0, PC437); ESC t n selects the character table, and every byte >= 0x80
is read in the table selected at that moment (a table we do not know gives U+FFFD, as a box on paper would);
ESC ! / ESC E / GS ! / ESC a / ESC - / ESC M / GS B style what follows; GS k prints a barcode, GS ( k stores
and prints a QR code, GS V cuts, ESC p kicks the drawer, DLE EOT asks for status. Any other command byte is
an error, so the tests see every command we send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# ESC t n as Epson (and Xprinter) number the tables; the name is the Python codec.
CODE_TABLES: dict[int, str] = {
    0: "cp437", 2: "cp850", 3: "cp860", 4: "cp863", 5: "cp865", 16: "cp1252", 17: "cp866", 18: "cp852",
    19: "cp858", 45: "cp1250", 46: "cp1251", 47: "cp1253",
}

BARCODE_SYSTEMS = {0: "UPC-A", 1: "UPC-E", 2: "EAN13", 3: "EAN8", 4: "CODE39", 5: "ITF", 6: "CODABAR",
                   65: "UPC-A", 66: "UPC-E", 67: "EAN13", 68: "EAN8", 69: "CODE39", 70: "ITF", 71: "CODABAR",
                   72: "CODE93", 73: "CODE128"}


@dataclass
class Line:
    """One printed line of text with the style it was printed in (styles of its first character)."""

    text: str
    align: str = "left"
    bold: bool = False
    tall: bool = False
    wide: bool = False
    code_pages: tuple[int, ...] = ()


@dataclass
class Item:
    """Something other than text on the paper: barcode, qr, cut, kick, status (a query, not printed)."""

    kind: str
    data: str = ""
    detail: dict = field(default_factory=dict)


@dataclass
class Decoded:
    items: list[Line | Item] = field(default_factory=list)
    pages_selected: list[int] = field(default_factory=list)

    @property
    def lines(self) -> list[Line]:
        return [i for i in self.items if isinstance(i, Line)]

    @property
    def texts(self) -> list[str]:
        return [line.text for line in self.lines]

    def of(self, kind: str) -> list[Item]:
        return [i for i in self.items if isinstance(i, Item) and i.kind == kind]

    def jobs(self) -> list[Decoded]:
        """Split at each cut: one Decoded per receipt (whatever follows the last cut is a job of its own)."""
        out, current = [], Decoded()
        for item in self.items:
            current.items.append(item)
            if isinstance(item, Item) and item.kind == "cut":
                out.append(current)
                current = Decoded()
        if current.items:
            out.append(current)
        return out

    def plain(self, columns: int) -> str:
        """The text as it lies on paper: aligned within `columns`, codes as [KIND data]."""
        out = []
        for item in self.items:
            if isinstance(item, Line):
                if item.align == "center":
                    out.append(item.text.center(columns).rstrip())
                elif item.align == "right":
                    out.append(item.text.rjust(columns))
                else:
                    out.append(item.text)
            elif item.kind in ("barcode", "qr"):
                out.append(f"[{item.detail.get('system', item.kind).upper()} {item.data}]")
        return "\n".join(out) + "\n"


class DecodeError(ValueError):
    pass


def decode(data: bytes) -> Decoded:
    """Interpret `data`; raises DecodeError on a command this interpreter does not know (so nothing slips by)."""
    out = Decoded()
    state = _State()
    i, n = 0, len(data)
    text = bytearray()
    pages_in_line: list[int] = []
    line_style: dict | None = None

    def flush(force: bool = False) -> None:
        nonlocal line_style
        if text or force:
            style = line_style or state.style()
            out.items.append(Line(_decode_text(bytes(text), pages_in_line), **style,
                                  code_pages=tuple(dict.fromkeys(p for p, _ in pages_in_line))))
            text.clear()
            pages_in_line.clear()
            line_style = None

    def need(count: int) -> bytes:
        if i + count > n:
            raise DecodeError(f"command at byte {i} is cut short: {data[i:i + 8]!r}")
        return data[i:i + count]

    while i < n:
        byte = data[i]
        if byte == 0x0A:  # LF: print the line buffer
            flush(force=True)
            i += 1
        elif byte == 0x0D:  # CR: ignored (LF prints)
            i += 1
        elif byte == 0x1B:  # ESC
            cmd = need(2)[1]
            if cmd == 0x40:  # ESC @ initialise
                flush()
                state = _State()
                i += 2
            elif cmd == 0x74:  # ESC t n
                state.page = need(3)[2]
                out.pages_selected.append(state.page)
                i += 3
            elif cmd == 0x21:  # ESC ! n print mode
                mode = need(3)[2]
                state.bold, state.tall, state.wide = bool(mode & 0x08), bool(mode & 0x10), bool(mode & 0x20)
                state.font_b = bool(mode & 0x01)
                i += 3
            elif cmd in (0x45, 0x47):  # ESC E n / ESC G n emphasised
                state.bold = bool(need(3)[2] & 1)
                i += 3
            elif cmd == 0x61:  # ESC a n justification
                state.align = ("left", "center", "right")[need(3)[2] % 48 % 3]
                i += 3
            elif cmd in (0x2D, 0x4D, 0x52, 0x7B, 0x20, 0x33, 0x4A, 0x56, 0x63):  # underline, font, intl set, ...
                i += 3
            elif cmd == 0x32:  # ESC 2 default line spacing
                i += 2
            elif cmd == 0x64:  # ESC d n feed n lines
                flush()
                out.items.extend(Line("") for _ in range(need(3)[2]))
                i += 3
            elif cmd == 0x70:  # ESC p m t1 t2 drawer kick
                m, t1, t2 = need(5)[2:5]
                out.items.append(Item("kick", detail={"pin": 2 if m in (0, 48) else 5, "on_ms": t1 * 2,
                                                      "off_ms": t2 * 2}))
                i += 5
            else:
                raise DecodeError(f"unknown command ESC 0x{cmd:02x} at byte {i}")
        elif byte == 0x1D:  # GS
            cmd = need(2)[1]
            if cmd == 0x21:  # GS ! n character size
                size = need(3)[2]
                state.wide, state.tall = (size >> 4) > 0, (size & 0x0F) > 0
                i += 3
            elif cmd == 0x56:  # GS V m [n] cut
                flush()
                m = need(3)[2]
                partial = m in (1, 49, 66)
                length = 4 if m in (65, 66, 97, 98, 103, 104) else 3
                need(length)
                out.items.append(Item("cut", detail={"partial": partial}))
                i += length
            elif cmd in (0x68, 0x77, 0x66, 0x48, 0x42, 0x62, 0x72, 0x49):  # barcode height/width/font/HRI, ...
                i += 3
            elif cmd in (0x4C, 0x57):  # GS L / GS W: margin, width
                i += 4
            elif cmd == 0x6B:  # GS k m ... barcode
                flush()
                m = need(3)[2]
                if m <= 6:
                    end = data.index(0, i + 3)
                    payload, i = data[i + 3:end], end + 1
                else:
                    length = need(4)[3]
                    payload = need(4 + length)[4:]
                    i += 4 + length
                body = payload.decode("ascii")
                system = BARCODE_SYSTEMS.get(m, f"barcode {m}")
                if system == "CODE128" and body[:1] == "{" and len(body) > 1:
                    body = body[2:]  # code set selection ({A {B {C)
                out.items.append(Item("barcode", body, {"system": system, "align": state.align}))
            elif cmd == 0x28:  # GS ( k / GS ( ... pL pH cn fn [params]
                fn_class = need(3)[2]
                p_l, p_h = need(5)[3:5]
                size = p_l + p_h * 256
                params = need(5 + size)[5:]
                i += 5 + size
                if fn_class == 0x6B and params[:1] == b"\x31":  # cn 49: QR code
                    fn = params[1]
                    if fn == 80:  # store data
                        state.qr = params[3:].decode("utf-8")
                    elif fn == 81:  # print what was stored
                        flush()
                        out.items.append(Item("qr", state.qr, {"system": "qr", "align": state.align}))
            else:
                raise DecodeError(f"unknown command GS 0x{cmd:02x} at byte {i}")
        elif byte == 0x10:  # DLE
            cmd = need(2)[1]
            if cmd == 0x04:  # DLE EOT n: real-time status request
                out.items.append(Item("status", detail={"n": need(3)[2]}))
                i += 3
            elif cmd == 0x14:  # DLE DC4 fn m t: real-time drawer pulse
                out.items.append(Item("kick", detail={"pin": 2 if need(5)[3] == 0 else 5, "realtime": True}))
                i += 5
            else:
                raise DecodeError(f"unknown command DLE 0x{cmd:02x} at byte {i}")
        elif byte < 0x20:
            raise DecodeError(f"unexpected control byte 0x{byte:02x} at byte {i}")
        else:
            if not text:
                line_style = state.style()
            text.append(byte)
            pages_in_line.append((state.page, len(text) - 1))
            i += 1
    flush()
    return out


@dataclass
class _State:
    page: int = 0
    align: str = "left"
    bold: bool = False
    tall: bool = False
    wide: bool = False
    font_b: bool = False
    qr: str = ""

    def style(self) -> dict:
        return {"align": self.align, "bold": self.bold, "tall": self.tall, "wide": self.wide}


def _decode_text(raw: bytes, pages: list[tuple[int, int]]) -> str:
    chars = []
    for (page, _), value in zip(pages, raw, strict=True):
        if value < 0x80:
            chars.append(chr(value))
            continue
        codec = CODE_TABLES.get(page)
        chars.append(bytes([value]).decode(codec, errors="replace") if codec else "\ufffd")
    return "".join(chars)
