"""Item picture cache benchmark (not a test): the cache stays within its byte limit under a flood, and what a lookup
costs (docs/item-images.md, issue 17's "The image cache stays within its limit").

    flock /tmp/kassa-bench.lock .venv/bin/python bench/image_cache_bench.py [--quick] [--limit-mb 4] [--dir DIR]

Through the real cache (firmware/image_cache.py) on disk, in one run:

- flood: N distinct real PNG pictures (random pixels, 8 to 90 KiB each) `put` as the sync thread would, totalling
  several times the limit, with a read of a random held picture between puts (LRU use); after every put the bytes
  held (the cache's count and the files on disk, both) are checked against the limit; it prints them every tenth
  step and the maximum over the run. Exit 1 if the limit was ever exceeded, or the two counts ever differ.
- restart: opening the cache again (index read, every file checked against it).
- lookup: `read` (O_NOFOLLOW open, read, SHA-256 check, LRU move) p50/p99 over the held pictures, against the
  baseline of reading the same file directly (`Path.read_bytes`), and against the UI's decode of the same bytes
  (pygame.image.load), which happens once per picture and size (ui/item_image.py).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")

import pygame  # noqa: E402

from firmware.domain.catalog import ImageRef  # noqa: E402
from firmware.image_cache import ImageCache, Verdict  # noqa: E402


def make_picture(rng: random.Random) -> bytes:
    side = rng.randint(48, 170)  # random pixels do not compress: about side*side*3 bytes
    surface = pygame.image.frombuffer(rng.randbytes(side * side * 3), (side, side), "RGB")
    out = io.BytesIO()
    pygame.image.save(surface, out, "picture.png")
    return out.getvalue()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="300 pictures instead of 1500")
    parser.add_argument("--limit-mb", type=float, default=4.0, help="the cache's limit ([shop] image_cache_mb)")
    parser.add_argument("--dir", type=Path, default=None, help="where to put the cache (default: a temp dir)")
    args = parser.parse_args()
    n = 300 if args.quick else 1500
    limit = int(args.limit_mb * 1024 * 1024)
    base = Path(tempfile.mkdtemp(prefix="kassa-image-bench-", dir=args.dir))
    rng = random.Random(17)
    try:
        pictures = [make_picture(rng) for _ in range(n)]
        wanted = {hashlib.sha256(p).hexdigest(): ImageRef(hashlib.sha256(p).hexdigest(), len(p), "image/png")
                  for p in pictures}
        total = sum(map(len, pictures))
        print(f"flood: {n} pictures, {total / 2**20:.1f} MiB in all ({total / limit:.1f} x the limit of "
              f"{limit / 2**20:.1f} MiB)")
        folder = base / "images"
        cache = ImageCache(folder, limit)
        held_max = disk_max = 0
        broken = []
        put_times: list[float] = []
        for i, data in enumerate(pictures):
            sha = hashlib.sha256(data).hexdigest()
            t0 = time.perf_counter()
            verdict = cache.put(sha, data, wanted)
            put_times.append(time.perf_counter() - t0)
            if verdict not in (Verdict.KEPT, Verdict.ALREADY):
                broken.append(f"step {i}: {verdict.value}")
            order = cache.order()
            if order:
                cache.read(rng.choice(order))
            on_disk = sum(e.stat().st_size for e in os.scandir(folder) if e.name.endswith(".img"))
            held_max, disk_max = max(held_max, cache.held), max(disk_max, on_disk)
            if cache.held != on_disk:
                broken.append(f"step {i}: the cache counts {cache.held} bytes, the disk holds {on_disk}")
            if on_disk > limit:
                broken.append(f"step {i}: {on_disk} bytes held, over the limit of {limit}")
            if i % max(1, n // 10) == 0 or i == n - 1:
                print(f"  step {i + 1:5d}: held {cache.held:>10,} bytes in {len(order):4d} pictures "
                      f"(on disk {on_disk:>10,}), limit {limit:,}")
        print(f"max held over the run: {held_max:,} bytes (on disk {disk_max:,}) <= limit {limit:,}: "
              f"{'yes' if disk_max <= limit and held_max <= limit else 'NO'}")
        print(f"put (hash, header, atomic write with fsync, eviction, index): p50 "
              f"{pct(put_times, 0.5) * 1e3:.2f} ms, p99 {pct(put_times, 0.99) * 1e3:.2f} ms")
        cache.flush()

        t0 = time.perf_counter()
        again = ImageCache(folder, limit)
        reopen = time.perf_counter() - t0
        same = again.order() == cache.order()
        print(f"restart: {len(again.order())} pictures, index and files checked in {reopen * 1e3:.1f} ms; "
              f"use order kept: {'yes' if same else 'NO'}")
        if not same:
            broken.append("the use order changed across a restart")

        held = again.order()
        reads: list[float] = []
        direct: list[float] = []
        decode: list[float] = []
        for _ in range(5):
            for sha in held:
                t0 = time.perf_counter()
                data = again.read(sha)
                reads.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                raw = (folder / f"{sha}.img").read_bytes()
                direct.append(time.perf_counter() - t0)
                if data != raw:
                    broken.append(f"{sha[:12]}: read back other bytes")
        for sha in held[:100]:
            raw = (folder / f"{sha}.img").read_bytes()
            t0 = time.perf_counter()
            pygame.image.load(io.BytesIO(raw))
            decode.append(time.perf_counter() - t0)
        mean = statistics.mean((folder / f"{sha}.img").stat().st_size for sha in held) / 1024
        print(f"lookup over {len(reads)} reads of {len(held)} pictures (mean {mean:.0f} KiB):")
        print(f"  cache.read (O_NOFOLLOW, SHA-256 check, LRU): p50 {pct(reads, 0.5) * 1e6:.0f} us, "
              f"p99 {pct(reads, 0.99) * 1e6:.0f} us")
        print(f"  baseline Path.read_bytes:                    p50 {pct(direct, 0.5) * 1e6:.0f} us, "
              f"p99 {pct(direct, 0.99) * 1e6:.0f} us  (ratio p50 {pct(reads, 0.5) / pct(direct, 0.5):.1f}x)")
        print(f"  the UI's decode (pygame.image.load, once per picture and size): p50 "
              f"{pct(decode, 0.5) * 1e6:.0f} us, p99 {pct(decode, 0.99) * 1e6:.0f} us")
    finally:
        shutil.rmtree(base, ignore_errors=True)
    if broken:
        print("FAILED:\n  " + "\n  ".join(broken[:20]))
        return 1
    print("ok: the cache stayed within its limit")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
