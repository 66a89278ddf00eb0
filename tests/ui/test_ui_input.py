"""Keyboard-wedge detection and pointer mapping, on plain events with injected times."""

from __future__ import annotations

import pygame

from ui.input import InputMapper, KeyPress, PointerDown, PointerUp, Scan, WedgeDetector

ENTER = KeyPress(pygame.K_RETURN, "\r")


def digits(text: str) -> list[KeyPress]:
    return [KeyPress(ord(c), c) for c in text]


def test_a_fast_burst_of_digits_ending_in_enter_is_a_scan():
    w = WedgeDetector()
    out = []
    for i, k in enumerate(digits("4006381333931")):
        out += w.feed(k, 10.0 + i * 0.004)
    out += w.feed(ENTER, 10.0 + 13 * 0.004)
    assert out == [Scan("4006381333931")]


def test_slow_typing_stays_typing():
    w = WedgeDetector()
    out = []
    t = 0.0
    for k in digits("4006381"):
        out += w.feed(k, t)
        t += 0.2
    out += w.feed(ENTER, t)
    assert out == digits("4006381") + [ENTER]
    assert not any(isinstance(e, Scan) for e in out)


def test_a_short_fast_burst_is_typing_not_a_scan():
    w = WedgeDetector()
    out = []
    for i, k in enumerate(digits("123")):
        out += w.feed(k, i * 0.001)
    out += w.feed(ENTER, 0.004)
    assert out == digits("123") + [ENTER]


def test_held_digits_are_released_after_the_gap():
    w = WedgeDetector()
    assert w.feed(KeyPress(ord("7"), "7"), 1.0) == []
    assert w.tick(1.01) == []
    assert w.tick(1.2) == [KeyPress(ord("7"), "7")]
    assert not w.holding


def test_another_key_breaks_a_burst_and_keeps_the_order():
    w = WedgeDetector()
    out = w.feed(KeyPress(ord("1"), "1"), 0.0) + w.feed(KeyPress(ord("-"), "-"), 0.001)
    assert out == [KeyPress(ord("1"), "1"), KeyPress(ord("-"), "-")]


def test_a_card_number_with_letters_is_a_scan_and_typed_letters_still_arrive_in_order():
    w = WedgeDetector()
    out = []
    for i, ch in enumerate("LC900123"):  # a loyalty card on a keyboard wedge: milliseconds apart, then Enter
        out += w.feed(KeyPress(ord(ch.lower()), ch), i * 0.002)
    out += w.feed(KeyPress(pygame.K_RETURN, "\r"), 0.02)
    assert out == [Scan("LC900123")]
    typed = w.feed(KeyPress(ord("a"), "a"), 1.0) + w.feed(KeyPress(ord("b"), "b"), 1.2) + w.tick(1.3)
    assert typed == [KeyPress(ord("a"), "a"), KeyPress(ord("b"), "b")]  # a person's keys: released, in order


def test_touch_uses_normalised_coordinates_and_mouse_echoes_of_touch_are_dropped():
    m = InputMapper((800, 480), lambda: 0.0)
    evs = [
        pygame.event.Event(pygame.FINGERDOWN, x=0.5, y=0.25, touch_id=1, finger_id=0),
        pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(400, 120), button=1, touch=True),
        pygame.event.Event(pygame.FINGERUP, x=1.0, y=1.0, touch_id=1, finger_id=0),
        pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(10, 20), button=1, touch=False),
    ]
    assert m.map(evs) == [PointerDown((400, 120)), PointerUp((799, 479)), PointerUp((10, 20))]


def test_quit_event_is_noticed():
    m = InputMapper((800, 480), lambda: 0.0)
    m.map([pygame.event.Event(pygame.QUIT)])
    assert m.quit
