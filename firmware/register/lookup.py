"""Item lookup for front ends: search results with variant parents first, and a parent's variant grid.

Pure read models over the catalog (docs/stock.md#variants): a parent whose name matches comes first and hides its
own variants from the results (picking it opens the grid); the grid's cells carry each variant's price and, when
the register knows it, its stock on hand.
"""

from __future__ import annotations

from collections.abc import Callable

from firmware.domain.catalog import Catalog, Item
from firmware.domain.variants import VariantGroup
from firmware.register.view import ItemInfo, VariantCellView, VariantGridView

__all__ = ["OnHand", "search_items", "variant_grid"]

OnHand = Callable[[str], "int | None"]  # sku -> stock on hand, None when unknown


def _image_of(item: Item | None) -> str:
    return item.image.sha256 if item is not None and item.image is not None else ""


def _parent_info(catalog: Catalog, group: VariantGroup) -> ItemInfo:
    items = [i for i in (catalog.by_sku(v.sku) for v in group.variants) if i is not None]
    image = next((_image_of(i) for i in items if i.image is not None), "")
    return ItemInfo(group.parent, group.name, min((i.price for i in items), default=0), variants=len(items),
                    image=image)


def search_items(catalog: Catalog, text: str, limit: int = 20) -> list[ItemInfo]:
    """Parents whose name matches, then items (a matched parent's own variants left out), at most `limit`."""
    groups = catalog.variants.search(text, limit) if len(catalog.variants) else []
    hidden = {v.sku for g in groups for v in g.variants}
    out = [_parent_info(catalog, g) for g in groups]
    if len(out) < limit:
        items = catalog.search(text, limit - len(out) + len(hidden))
        out += [ItemInfo(i.sku, catalog.sold_as(i).name, i.price, i.weighed, image=_image_of(i))
                for i in items if i.sku not in hidden]
    return out[:limit]


def variant_grid(catalog: Catalog, parent: str, page: str | None = None,
                 on_hand: OnHand | None = None) -> VariantGridView | None:
    """The grid of `parent` (None when it is not a parent); an unknown `page` shows the first."""
    group = catalog.variants.group(parent)
    if group is None:
        return None
    if page not in group.pages:
        page = None
    grid = group.grid(catalog, page=page)
    cells = tuple(tuple(
        VariantCellView(cell.row, cell.col) if cell.sku is None or cell.item is None else
        VariantCellView(cell.row, cell.col, cell.sku, cell.item.price,
                        on_hand(cell.sku) if on_hand is not None else None)
        for cell in row) for row in grid.cells)
    image = next((_image_of(catalog.by_sku(v.sku)) for v in group.variants
                  if _image_of(catalog.by_sku(v.sku))), "")
    return VariantGridView(group.parent, group.name, grid.row_axis, grid.col_axis, grid.rows, grid.cols, cells,
                           group.axes[2].name if group.pages else "", group.pages, grid.page, image)
