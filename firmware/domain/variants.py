"""Items with variants (sizes, colours): the parent's axes, the grid the UI shows, lookup by a variant's barcode.

Each variant is an ordinary catalog item (its own sku, barcodes, price and stock); a `VariantGroup` only says
which items are the variants of one parent and which axis values each has. The catalog carries the groups in its
optional `variants` field (firmware.contract.stock.VariantGroup, docs/stock.md#variants).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from firmware.domain.catalog import Catalog, Item, NotSellable, fold
from firmware.domain.errors import PayloadInvalid

__all__ = ["Axis", "Variant", "VariantGroup", "GridCell", "Grid", "VariantHit", "Variants", "MAX_AXES",
           "MAX_VALUES"]

MAX_AXES = 3
MAX_VALUES = 30


@dataclass(frozen=True)
class Axis:
    name: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Variant:
    """One variant: the sku of its catalog item and its value on each axis, in axis order."""

    sku: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class GridCell:
    """One cell of the grid: `sku` None marks a combination the shop does not sell."""

    row: str
    col: str
    sku: str | None
    item: Item | None = None

    @property
    def missing(self) -> bool:
        return self.sku is None


@dataclass(frozen=True)
class Grid:
    """Rows x columns of one parent (for three axes: one page, `page` the third axis's value)."""

    parent: str
    row_axis: str
    col_axis: str
    rows: tuple[str, ...]
    cols: tuple[str, ...]
    cells: tuple[tuple[GridCell, ...], ...]
    page: str | None = None

    def cell(self, row: str, col: str) -> GridCell:
        return self.cells[self.rows.index(row)][self.cols.index(col)]


@dataclass(frozen=True)
class VariantGroup:
    parent: str
    name: str
    axes: tuple[Axis, ...]
    variants: tuple[Variant, ...]

    def __post_init__(self) -> None:
        where = f"Variants of {self.parent}"
        if not 1 <= len(self.axes) <= MAX_AXES:
            raise PayloadInvalid(f"{where}: need 1 to {MAX_AXES} axes, not {len(self.axes)}")
        if len({a.name for a in self.axes}) != len(self.axes):
            raise PayloadInvalid(f"{where}: an axis name appears twice")
        for axis in self.axes:
            if not 1 <= len(axis.values) <= MAX_VALUES or len(set(axis.values)) != len(axis.values):
                raise PayloadInvalid(f"{where}: axis {axis.name} needs 1 to {MAX_VALUES} different values")
        combos: set[tuple[str, ...]] = set()
        skus: set[str] = set()
        for variant in self.variants:
            if len(variant.values) != len(self.axes) or any(
                    v not in a.values for a, v in zip(self.axes, variant.values, strict=False)):
                raise PayloadInvalid(f"{where}: variant {variant.sku} needs one known value per axis")
            if variant.values in combos or variant.sku in skus:
                raise PayloadInvalid(f"{where}: variant {variant.sku} repeats a sku or a combination")
            combos.add(variant.values)
            skus.add(variant.sku)

    def variant_of(self, values: Sequence[str]) -> Variant | None:
        key = tuple(values)
        return next((v for v in self.variants if v.values == key), None)

    def grid(self, catalog: Catalog | None = None, *, rows: int = 0, cols: int = 1, page: str | None = None
             ) -> Grid:
        """The grid for the UI: axis `rows` down, axis `cols` across (one axis: a single column named "").

        With three axes, `page` picks the value of the remaining axis (default: its first). Missing
        combinations are cells with `sku` None; `item` is filled from `catalog` when given.
        """
        n = len(self.axes)
        if n == 1:
            rows, cols = 0, -1
        elif not (0 <= rows < n and 0 <= cols < n and rows != cols):
            raise PayloadInvalid(f"Variants of {self.parent}: rows and cols must be two different axes")
        rest = [i for i in range(n) if i not in (rows, cols)]
        page_axis = rest[0] if rest else None
        if page_axis is not None:
            values = self.axes[page_axis].values
            page = values[0] if page is None else page
            if page not in values:
                raise PayloadInvalid(f"Variants of {self.parent}: {page!r} is not a {self.axes[page_axis].name}")
        else:
            page = None
        by_combo = {v.values: v for v in self.variants}
        col_values = self.axes[cols].values if cols >= 0 else ("",)
        grid_rows = []
        for row_value in self.axes[rows].values:
            cells = []
            for col_value in col_values:
                combo = [""] * n
                combo[rows] = row_value
                if cols >= 0:
                    combo[cols] = col_value
                if page_axis is not None and page is not None:
                    combo[page_axis] = page
                variant = by_combo.get(tuple(combo))
                sku = variant.sku if variant else None
                item = catalog.by_sku(sku) if catalog is not None and sku is not None else None
                cells.append(GridCell(row_value, col_value, sku, item))
            grid_rows.append(tuple(cells))
        return Grid(self.parent, self.axes[rows].name, self.axes[cols].name if cols >= 0 else "",
                    self.axes[rows].values, tuple(col_values), tuple(grid_rows), page)

    @property
    def pages(self) -> tuple[str, ...]:
        """The third axis's values (the grid's pages with the default rows and cols), else ()."""
        return self.axes[2].values if len(self.axes) == 3 else ()

    def to_doc(self) -> dict[str, Any]:
        """The catalog's `variants` entry for this group (the inverse of `from_doc`)."""
        return {"parent": self.parent, "name": self.name,
                "axes": [{"name": a.name, "values": list(a.values)} for a in self.axes],
                "variants": [{"sku": v.sku, "values": list(v.values)} for v in self.variants]}

    @classmethod
    def from_doc(cls, doc: Mapping[str, Any]) -> VariantGroup:
        """From one entry of the catalog's `variants` (checked by the contract model first)."""
        try:
            return cls(parent=str(doc["parent"]), name=str(doc["name"]),
                       axes=tuple(Axis(str(a["name"]), tuple(a["values"])) for a in doc["axes"]),
                       variants=tuple(Variant(str(v["sku"]), tuple(v["values"])) for v in doc["variants"]))
        except (KeyError, TypeError) as exc:
            raise PayloadInvalid(f"Variants: an entry lacks {exc}") from None


@dataclass(frozen=True)
class VariantHit:
    """A scan that named a variant: the item to sell, its parent group and which variant it is."""

    item: Item
    group: VariantGroup
    variant: Variant

    @property
    def label(self) -> str:
        """ "T-shirt, M / Red": what the cart line and the cashier see."""
        return f"{self.group.name}, {' / '.join(self.variant.values)}"


class Variants:
    """The catalog's variant groups, indexed: a variant's sku -> its group; parent id -> group."""

    def __init__(self, catalog: Catalog, groups: Iterable[VariantGroup]) -> None:
        self.catalog = catalog
        self.groups: dict[str, VariantGroup] = {}
        self._of_sku: dict[str, tuple[VariantGroup, Variant]] = {}
        for group in groups:
            if group.parent in self.groups or catalog.by_sku(group.parent) is not None:
                raise PayloadInvalid(f"Variants: parent id {group.parent} is used twice or is an item's sku")
            self.groups[group.parent] = group
            for variant in group.variants:
                if catalog.by_sku(variant.sku) is None:
                    raise PayloadInvalid(f"Variants of {group.parent}: {variant.sku} is not in the catalog")
                if variant.sku in self._of_sku:
                    raise PayloadInvalid(f"Variants: {variant.sku} is in two groups")
                self._of_sku[variant.sku] = (group, variant)

    @classmethod
    def from_payload(cls, catalog: Catalog, docs: Iterable[Mapping[str, Any]] | None) -> Variants:
        return cls(catalog, (VariantGroup.from_doc(doc) for doc in docs or ()))

    def group(self, parent: str) -> VariantGroup | None:
        return self.groups.get(parent)

    def search(self, text: str, limit: int = 20) -> list[VariantGroup]:
        """Groups whose name holds every word of `text` (case/accent-insensitive), or whose parent id is `text`;
        name prefix first, then shorter names."""
        query = fold(text).strip()
        if not query or limit <= 0:
            return []
        words = query.split()
        exact = self.groups.get(text.strip())
        found = [g for g in self.groups.values() if g is not exact and all(w in fold(g.name) for w in words)]
        found.sort(key=lambda g: (not fold(g.name).startswith(query), len(g.name), g.name, g.parent))
        return ([exact] + found if exact else found)[:limit]

    def __len__(self) -> int:
        return len(self.groups)

    def of_sku(self, sku: str) -> VariantHit | None:
        found = self._of_sku.get(sku)
        item = self.catalog.by_sku(sku)
        if found is None or item is None:
            return None
        return VariantHit(item, found[0], found[1])

    def lookup_scan(self, code: str) -> VariantHit | Item | NotSellable:
        """A scan resolved: the variant it names (with its parent), a plain item, or NotSellable."""
        found = self.catalog.lookup_scan(code)
        if isinstance(found, NotSellable):
            return found
        return self.of_sku(found.sku) or found
