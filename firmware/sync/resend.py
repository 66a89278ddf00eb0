"""The fleet's `resend` requests as one bounded scan over merged seq ranges (what OutboxSender.forced holds).

A `resend` command names a range of up to 100,000 seqs, and nothing stops a
fleet (or a flood) from sending thousands of them. Seqs are therefore never
listed one by one: requests are merged into sorted, disjoint ranges
(overlapping and adjacent ones become one), and there is only ever one scan
running through them, lowest seq first. A seq sent again less than HOLD
seconds ago is not queued again: it is on its way to the fleet, and a burst
of commands (queued at the broker while the register was offline, or a
flood) asks for the same seqs many times over. The fleet asks again for a gap
it still sees (kassa-fleet: every 60 s), well after HOLD.

Both range lists are bounded by MAX_RANGES. Past it, the queued ranges with
the smallest gap between them are joined (a few receipts more than asked for
go out; the fleet dedupes them), and the lowest range of what was just sent
is forgotten (at worst a receipt is sent twice). So 2,000 commands, or 2 million,
cost at most 2 x MAX_RANGES pairs of ints.
"""

from __future__ import annotations

import bisect
import time
from collections.abc import Callable

MAX_RANGES = 256
HOLD = 10.0  # s during which a seq just sent again is not queued again


def _merge(ranges: list[list[int]], lo: int, hi: int) -> None:
    """Add [lo, hi] to sorted, disjoint, non-adjacent inclusive `ranges` in place."""
    i = bisect.bisect_left(ranges, [lo])  # first range starting at or after lo
    if i > 0 and ranges[i - 1][1] >= lo - 1:  # the one before overlaps or touches
        i -= 1
    j = i
    while j < len(ranges) and ranges[j][0] <= hi + 1:
        lo, hi = min(lo, ranges[j][0]), max(hi, ranges[j][1])
        j += 1
    ranges[i:j] = [[lo, hi]]


def _missing(ranges: list[list[int]], lo: int, hi: int) -> list[tuple[int, int]]:
    """The parts of [lo, hi] not covered by sorted, disjoint `ranges`."""
    out = []
    i = max(0, bisect.bisect_right(ranges, [lo, float("inf")]) - 1)
    for r_lo, r_hi in ranges[i:]:
        if r_lo > hi:
            break
        if r_hi < lo:
            continue
        if r_lo > lo:
            out.append((lo, r_lo - 1))
        lo = max(lo, r_hi + 1)
        if lo > hi:
            return out
    if lo <= hi:
        out.append((lo, hi))
    return out


class ResendQueue:
    """Seqs to send whatever their delivery state, as merged ranges; reads like the deque it replaces.

    `queue[0]` is the next seq, `popleft()` takes it (and remembers it as sent in this scan), `bool(queue)`
    says whether any is left, `len(queue)` how many.
    """

    def __init__(self, max_ranges: int = MAX_RANGES, hold: float = HOLD,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_ranges = max_ranges
        self.hold = hold
        self.clock = clock
        self._wanted: list[list[int]] = []  # queued, sorted, disjoint, non-adjacent, inclusive
        self._sent: list[list[int]] = []  # sent again within `hold` of the last send
        self._last_sent = float("-inf")
        self.widened = 0  # times two queued ranges were joined to stay within max_ranges

    def add(self, lo: int, hi: int) -> int:
        """Queue seqs lo..hi (inclusive); returns how many were not already queued or just sent."""
        if hi < lo:
            return 0
        if self._sent and self.clock() - self._last_sent > self.hold:
            self._sent.clear()
        before = len(self)
        for part_lo, part_hi in _missing(self._sent, lo, hi):
            _merge(self._wanted, part_lo, part_hi)
        while len(self._wanted) > self.max_ranges:
            self._join_closest()
        return len(self) - before

    def _join_closest(self) -> None:
        wanted = self._wanted
        gaps = [wanted[i + 1][0] - wanted[i][1] for i in range(len(wanted) - 1)]
        i = gaps.index(min(gaps))
        wanted[i:i + 2] = [[wanted[i][0], wanted[i + 1][1]]]
        self.widened += 1

    def __bool__(self) -> bool:
        return bool(self._wanted)

    def __len__(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self._wanted)

    def __getitem__(self, index: int) -> int:
        if index != 0 or not self._wanted:
            raise IndexError("only the next seq (queue[0]) can be read")
        return self._wanted[0][0]

    def popleft(self) -> int:
        """Take the next seq to send (remembered as just sent for `hold` seconds)."""
        if not self._wanted:
            raise IndexError("pop from an empty ResendQueue")
        first = self._wanted[0]
        seq = first[0]
        if seq == first[1]:
            del self._wanted[0]
        else:
            first[0] = seq + 1
        _merge(self._sent, seq, seq)
        if len(self._sent) > self.max_ranges:
            del self._sent[0]  # forgotten: at worst sent twice
        self._last_sent = self.clock()
        return seq

    def clear(self) -> None:
        self._wanted.clear()
        self._sent.clear()

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        """The queued ranges, inclusive, lowest first."""
        return tuple((lo, hi) for lo, hi in self._wanted)

    @property
    def size(self) -> int:
        """Range pairs held (queued plus just sent): what memory this costs."""
        return len(self._wanted) + len(self._sent)
