"""Scanner framing on plain bytes: suffixes, noise, over-long lines, missing suffix, random streams."""

from __future__ import annotations

import pytest
from hypothesis import given, settings, strategies as st

from hal.events import ScanRead, ScanRejected
from hal.framing import MAX_CODE, Framer
from hal.urls import SUFFIXES


def reads(events):
    return [e.code for e in events if isinstance(e, ScanRead)]


@pytest.mark.parametrize("suffix", ["cr", "lf", "crlf"])
def test_each_suffix_frames_codes_split_anywhere(suffix):
    term = SUFFIXES[suffix]
    stream = b"4006381333931" + term + b"96385074" + term + b"ABC-123" + term
    framer = Framer(suffix)
    out = []
    for i in range(len(stream)):  # one byte at a time: the worst a USB-serial adapter does
        out += framer.feed(stream[i:i + 1])
    assert reads(out) == ["4006381333931", "96385074", "ABC-123"]
    assert not framer.pending


def test_crlf_from_a_scanner_set_to_cr_does_not_leak_into_the_next_code():
    framer = Framer("cr")
    assert reads(framer.feed(b"4006381333931\r\n96385074\r\n")) == ["4006381333931", "96385074"]


def test_nul_and_blank_noise_around_a_code_is_ignored():
    framer = Framer("cr")
    out = framer.feed(b"\x00\x00\r\r  4006381333931 \x00\r\r")
    assert out == [ScanRead("4006381333931")]


def test_non_ascii_bytes_reject_the_frame_with_a_reason_and_keep_the_raw_bytes():
    framer = Framer("cr")
    out = framer.feed(b"40063\xff81333931\r4006381333931\r")
    assert isinstance(out[0], ScanRejected) and "non-ASCII" in out[0].reason
    assert out[0].raw == b"40063\xff81333931"
    assert out[1] == ScanRead("4006381333931")


def test_control_characters_inside_a_code_reject_it():
    out = Framer("lf").feed(b"4006\x07381333931\n")
    assert len(out) == 1 and isinstance(out[0], ScanRejected) and "control" in out[0].reason


def test_an_over_long_line_is_rejected_once_and_the_next_code_still_reads():
    framer = Framer("cr")
    out = framer.feed(b"9" * 500)
    out += framer.feed(b"9" * 500)  # still the same line: no second rejection
    out += framer.feed(b"\r4006381333931\r")
    rejected = [e for e in out if isinstance(e, ScanRejected)]
    assert len(rejected) == 1 and f"longer than {MAX_CODE}" in rejected[0].reason
    assert reads(out) == ["4006381333931"]


def test_a_frame_of_exactly_the_cap_passes_and_one_more_does_not():
    framer = Framer("lf")
    assert reads(framer.feed(b"A" * MAX_CODE + b"\n")) == ["A" * MAX_CODE]
    assert isinstance(framer.feed(b"A" * (MAX_CODE + 1) + b"\n")[0], ScanRejected)


def test_missing_suffix_is_flushed_with_a_reason_naming_the_setting():
    framer = Framer("crlf")
    assert framer.feed(b"4006381333931") == []
    assert framer.pending
    rejected = framer.flush()
    assert isinstance(rejected, ScanRejected) and "CRLF" in rejected.reason and rejected.raw == b"4006381333931"
    assert framer.flush() is None
    assert reads(framer.feed(b"96385074\r\n")) == ["96385074"]


codes = st.text(alphabet="0123456789", min_size=1, max_size=MAX_CODE)
garbage = st.binary(max_size=120).map(lambda b: bytes(x for x in b if not 0x30 <= x <= 0x39))


@st.composite
def streams(draw, suffix: str):
    """Digit codes, each framed by the suffix on both sides, with digit-free garbage anywhere between."""
    term = SUFFIXES[suffix]
    parts, expected = [], []
    for _ in range(draw(st.integers(0, 8))):
        if draw(st.booleans()):
            parts.append(draw(garbage))
        code = draw(codes)
        parts.append(term + code.encode() + term)
        expected.append(code)
    parts.append(draw(garbage))
    stream = b"".join(parts)
    cuts = sorted(draw(st.lists(st.integers(0, len(stream)), max_size=10)))
    chunks = [stream[a:b] for a, b in zip([0, *cuts], [*cuts, len(stream)], strict=True)]
    return chunks, expected


@pytest.mark.slow  # 300 random streams per suffix
@pytest.mark.parametrize("suffix", ["cr", "lf", "crlf"])
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_streams_never_raise_and_every_framed_code_reads_exactly_once(suffix, data):
    chunks, expected = data.draw(streams(suffix))
    framer = Framer(suffix)
    out = []
    for chunk in chunks:
        out += framer.feed(chunk)
    flushed = framer.flush()
    assert all(isinstance(e, (ScanRead, ScanRejected)) for e in out)
    digit_reads = [code for code in reads(out) if code.isdigit()]
    assert digit_reads == expected
    for event in out:
        if isinstance(event, ScanRead):
            assert event.code.isascii() and event.code.isprintable() and 0 < len(event.code) <= MAX_CODE
    assert flushed is None or isinstance(flushed, ScanRejected)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["cr", "lf", "crlf"]))
def test_any_bytes_at_all_only_ever_become_events(blob, suffix):
    framer = Framer(suffix)
    out = framer.feed(blob) + [framer.flush()]
    assert all(e is None or isinstance(e, (ScanRead, ScanRejected)) for e in out)
