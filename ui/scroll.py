"""A window of rows over a longer list, paged by buttons and moved row by row by a drag (touch or mouse)."""

from __future__ import annotations


class RowScroll:
    """Which rows of `count` are shown, `per_page` at a time from `offset`.

    `page(step)` is for Up/Down buttons; `drag(dy)` takes the pixels the finger
    moved since the last call and moves one row per `row_h` dragged, content
    following the finger (dragging up shows later rows).
    """

    def __init__(self, row_h: int, per_page: int = 1) -> None:
        self.row_h = max(1, row_h)
        self.per_page = max(1, per_page)
        self.count = 0
        self.offset = 0
        self._carry = 0

    @property
    def last(self) -> int:
        """The offset that shows the final page."""
        return max(0, self.count - self.per_page)

    def fit(self, count: int) -> None:
        """The list now has `count` rows; keep the window inside it."""
        self.count = count
        self.offset = max(0, min(self.offset, self.last))

    def to(self, offset: int) -> None:
        self.offset = max(0, min(offset, self.last))

    def page(self, step: int) -> None:
        """A page down (`step` 1) or up (-1), keeping one row of the old page in view."""
        self.to(self.offset + step * max(1, self.per_page - 1))

    def drag(self, dy: int) -> bool:
        """The finger moved `dy` px (down positive); True when the window moved."""
        self._carry += dy
        rows = int(self._carry / self.row_h)  # toward zero: a small back-and-forth does not jitter
        if not rows:
            return False
        self._carry -= rows * self.row_h
        before = self.offset
        self.to(self.offset - rows)
        return self.offset != before

    def end_drag(self) -> None:
        self._carry = 0

    def window(self) -> range:
        return range(self.offset, min(self.count, self.offset + self.per_page))

    def more(self) -> str:
        """'4-9 of 15' when the list does not fit, else ''."""
        if self.count <= self.per_page:
            return ""
        return f"{self.offset + 1}-{min(self.count, self.offset + self.per_page)} of {self.count}"
