"""Promotions engine benchmark (not a test): 500 active promotions, 50-line carts, p50/p99 against a baseline.

    flock /tmp/kassa-bench.lock .venv/bin/python bench/promotions_bench.py [--quick] [--carts N] [--reps N]

A catalog of 5,000 SKUs in 120 groups (every SKU in 1 or 2), and 500 active promotions in a realistic mix: item
percent/amount off (35%), single-SKU multi-buys (3 for 2, 2 for a price: 25%), mix and match over a group (10%),
group discounts, some stackable (10%), happy hours with a time window (6%), spend-and-save on the cart or a
group (6%), code-only rules and single-use coupons (8%); 60 more that are out of their window now. Carts of 50
lines: about two thirds of SKUs with a promotion, quantities 1 to 4, 5 weighed lines, the cashier's codes.

Measured in the same run, on the same carts, each call timed alone (perf_counter_ns):

- baseline: the same engine with no promotions (the cost of pricing a cart at all);
- realistic: the 500 promotions;
- overlap: a worst-ish case, 50 lines all drinks under 12 overlapping mix-and-match deals + 3-for-2s.

Prints p50/p99/max in ms of wall time and of the thread's CPU time (the wall time of a loaded machine includes
waiting for a core: compare it with the baseline's, measured alongside), and the promotions applied per cart.
The target is p99 < 5 ms for "realistic". `gc` runs as it would on the till.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from firmware.domain.promotion_rules import Promotion, Window  # noqa: E402
from firmware.domain.promotions import PromoLine, PromotionBook  # noqa: E402

NOW = datetime(2026, 12, 2, 17, 30, tzinfo=timezone(timedelta(hours=1)))  # a Wednesday, happy hour
SKUS = [f"SKU{i:05d}" for i in range(5_000)]
GROUPS = [f"G{i:03d}" for i in range(120)]


def catalog(rng: random.Random) -> tuple[list[Promotion], dict[str, list[str]], dict[str, int], set[str]]:
    sku_groups = {sku: rng.sample(GROUPS, rng.choice([1, 1, 2])) for sku in SKUS}
    prices = {sku: rng.choice([49, 99, 129, 199, 249, 299, 399, 599, 999, 1499]) for sku in SKUS}
    promos: list[Promotion] = []
    promoted: set[str] = set()

    def add(kind: str, **kw: object) -> None:
        pid = f"PR{len(promos):04d}"
        promos.append(Promotion(pid, f"Promo {pid}", kind, **kw))  # type: ignore[arg-type]

    happy = Window(weekdays=frozenset({1, 2, 3, 4, 5}), start_minute=17 * 60, end_minute=19 * 60,
                   first_day=date(2026, 12, 1), last_day=date(2026, 12, 31))
    later = Window(first_day=date(2027, 1, 1), last_day=date(2027, 1, 31))
    for i in range(500):
        roll = i % 100
        skus = frozenset(rng.sample(SKUS, rng.choice([1, 1, 2, 3])))
        group = frozenset([rng.choice(GROUPS)])
        if roll < 35:
            promoted |= skus
            if rng.random() < 0.6:
                add("discount", skus=skus, percent=Decimal(rng.choice([5, 10, 15, 20, 25, 30, 50])))
            else:
                add("discount", skus=skus, amount=rng.choice([10, 20, 50, 100]))
        elif roll < 60:
            sku = frozenset([next(iter(skus))])
            promoted |= sku
            if rng.random() < 0.6:
                add("multi_buy", skus=sku, buy=3, pay=2)
            else:
                add("multi_buy", skus=sku, buy=2, price=rng.choice([150, 300, 500]))
        elif roll < 70:
            if rng.random() < 0.5:
                add("multi_buy", groups=group, buy=3, pay=2)
            else:
                add("multi_buy", groups=group, buy=2, price=rng.choice([300, 500, 800]))
        elif roll < 80:
            add("discount", groups=group, percent=Decimal(rng.choice([5, 10, 20])), stackable=rng.random() < 0.4)
        elif roll < 86:
            add("discount", groups=group, percent=Decimal(20), window=happy, stackable=rng.random() < 0.5)
        elif roll < 92:
            if rng.random() < 0.5:
                add("spend_save", spend=rng.choice([2000, 5000, 10000]), amount=rng.choice([200, 500, 1000]))
            else:
                add("spend_save", groups=group, spend=rng.choice([1000, 2000]), percent=Decimal(10),
                    stackable=rng.random() < 0.5)
        else:
            codes = frozenset({f"CPN{i:04d}{n:03d}" for n in range(50)})
            if rng.random() < 0.5:
                add("discount", percent=Decimal(10), codes=codes, single_use=True)
            else:
                add("discount", skus=skus, percent=Decimal(15), codes=frozenset({f"PROMO{i}"}), stackable=True)
    for _ in range(60):  # scheduled, not yet on
        add("discount", skus=frozenset(rng.sample(SKUS, 2)), percent=Decimal(30), window=later)
    return promos, sku_groups, prices, promoted


def cart(rng: random.Random, prices: dict[str, int], promoted: list[str]) -> list[PromoLine]:
    lines = []
    for n in range(1, 51):
        if n > 45:
            lines.append(PromoLine(n, rng.choice(SKUS), rng.choice([199, 299, 449]), Decimal(rng.randint(50, 2500))
                                   / 1000))
            continue
        sku = rng.choice(promoted) if rng.random() < 0.66 else rng.choice(SKUS)
        lines.append(PromoLine(n, sku, prices[sku], rng.choice([1, 1, 1, 2, 2, 3, 4])))
    return lines


def overlap_case(rng: random.Random) -> tuple[PromotionBook, list[list[PromoLine]]]:
    drinks = [f"D{i:03d}" for i in range(60)]
    groups = {sku: ["drinks", f"brand{i % 6}"] for i, sku in enumerate(drinks)}
    promos = [Promotion(f"MM{i:02d}", "Mix and match", "multi_buy", groups=frozenset([f"brand{i % 6}"]),
                        buy=2 + i % 3, price=300 + 50 * i) for i in range(10)]
    promos += [Promotion("MMALL", "Any 3 for 2", "multi_buy", groups=frozenset(["drinks"]), buy=3, pay=2),
               Promotion("MMALL2", "Any 6 for 10.00", "multi_buy", groups=frozenset(["drinks"]), buy=6, price=1000)]
    promos += [Promotion(f"X{i}", "3 for 2", "multi_buy", skus=frozenset([drinks[i]]), buy=3, pay=2) for i in range(20)]
    book = PromotionBook(promos, groups)
    carts = [[PromoLine(n, rng.choice(drinks), rng.choice([99, 149, 199, 249]), rng.choice([1, 1, 2, 3]))
              for n in range(1, 51)] for _ in range(10)]
    return book, carts


def measure(book: PromotionBook, carts: list[list[PromoLine]], reps: int, codes: list[list[str]]) -> tuple[
        list[float], list[float], list[int]]:
    wall: list[float] = []
    cpu: list[float] = []
    applied: list[int] = []
    for _ in range(reps):
        for lines, entered in zip(carts, codes, strict=True):
            start, start_cpu = time.perf_counter_ns(), time.thread_time_ns()
            result = book.price(lines, now=NOW, clock_trusted=True, codes=entered)
            cpu.append((time.thread_time_ns() - start_cpu) / 1e6)
            wall.append((time.perf_counter_ns() - start) / 1e6)
            applied.append(len(result.applied))
    return wall, cpu, applied


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def report(name: str, wall: list[float], cpu: list[float], applied: list[int]) -> None:
    print(f"{name:<28} n={len(wall):>5}  wall p50 {pct(wall, 0.5):6.3f} p99 {pct(wall, 0.99):7.3f} max "
          f"{max(wall):7.3f} ms | cpu p50 {pct(cpu, 0.5):6.3f} p99 {pct(cpu, 0.99):6.3f} ms | "
          f"applied/cart {statistics.mean(applied):.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer carts and repetitions")
    parser.add_argument("--carts", type=int, default=200)
    parser.add_argument("--reps", type=int, default=10)
    args = parser.parse_args()
    carts_n, reps = (20, 3) if args.quick else (args.carts, args.reps)
    rng = random.Random(16)
    promos, sku_groups, prices, promoted = catalog(rng)
    start = time.perf_counter()
    book = PromotionBook(promos, sku_groups)
    built = (time.perf_counter() - start) * 1000
    empty = PromotionBook([], sku_groups)
    promoted_list = sorted(promoted)
    carts = [cart(rng, prices, promoted_list) for _ in range(carts_n)]
    code_pool = [c for p in promos for c in sorted(p.codes)]
    codes = [rng.sample(code_pool, rng.choice([0, 0, 1, 2])) for _ in carts]
    print(f"{len(promos)} promotions ({len(promos) - 60} active now), {len(SKUS)} SKUs, {len(GROUPS)} groups; "
          f"book built in {built:.1f} ms; {carts_n} carts of 50 lines x {reps} reps; python {sys.version.split()[0]}")
    measure(book, carts[:5], 1, codes[:5])  # warm-up
    report("baseline (no promotions)", *measure(empty, carts, reps, codes))
    report("realistic (500 promotions)", *measure(book, carts, reps, codes))
    heavy_book, heavy_carts = overlap_case(rng)
    report("overlap (32 deals, 1 group)", *measure(heavy_book, heavy_carts, max(1, carts_n * reps // 50),
                                                   [[] for _ in heavy_carts]))


if __name__ == "__main__":
    main()
