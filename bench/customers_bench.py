"""Customer search and start-up at store scale: p50/p99 per query kind, against a linear scan in the same run.

    flock /tmp/kassa-bench.lock .venv/bin/python bench/customers_bench.py [--customers 100000] [--edits 500]

Generates a deterministic store (names with accents and double names, phones, e-mails, card numbers), applies
it as the fleet's list (builds and writes the index, as sync does when a list arrives), appends `--edits` local
edits (creates and changes), then measures:

- start-up: `CustomerBook(...)` = read the index file + build the lookup dicts + replay the edit log; the
  baseline is what start-up would cost without a prebuilt index (parse the list document and build the index);
- search: the register's `CustomerBook.search` (limit 20) per query kind, and `linear_search` (every customer
  ranked, sorted: the reference) on the same queries; every indexed result is checked equal to the reference.

Targets (docs/customers.md#search): search p99 < 20 ms, start-up < 300 ms at 100k customers.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from firmware.contract.customers import CustomerList  # noqa: E402
from firmware.customers import CustomerBook, CustomerIndex, linear_search  # noqa: E402
from firmware.domain.customers import customer_id_of  # noqa: E402

FIRST = ["Anna", "Ben", "Clara", "David", "Emma", "Felix", "Greta", "Hannah", "Ida", "Jonas", "Karl", "Lena", "Lukas",
         "Maria", "Max", "Noah", "Olga", "Paul", "Quirin", "Rosa", "Sophie", "Theo", "Ute", "Valentin", "Wilma",
         "Xaver", "Yusuf", "Zoë", "Jürgen", "Özlem", "Åsa", "Chloé", "José", "Ana-Lucía", "Anne Marie", "Mia", "Leon",
         "Elias", "Emilia", "Finn", "Ida", "Nora", "Oskar", "Mila", "Luis", "Ella", "Henry", "Lina", "Milan", "Ava"]
LAST = ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Schulz", "Hoffmann",
        "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf", "Schröder", "Neumann", "Schwarz", "Zimmermann",
        "Braun", "Krüger", "Hofmann", "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Meier", "Lehmann",
        "Yılmaz", "Kaya", "Nowak", "Kowalski", "García", "Martínez", "Rossi", "Bianchi", "Dubois", "Lefèvre",
        "Nguyen", "Tran", "O'Brien", "van der Berg", "de la Cruz", "Østergaard", "Åberg", "Ngata", "Silva", "Costa"]
LETTERS = "abcdefghijklmnoprstuvwz"


def make_store(n: int, seed: int = 16) -> dict:
    rng = random.Random(seed)
    customers = []
    for i in range(1, n + 1):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}" if rng.random() > 0.1 else f"{first} {rng.choice(LAST)}-{last}"
        name = name if rng.random() > 0.05 else f"{name} {rng.choice(LETTERS).upper()}{rng.randrange(10**3)}"
        phone = f"+49 1{rng.randrange(50, 80)} {rng.randrange(10**6, 10**8)}" if rng.random() > 0.2 else ""
        email = f"{first.split()[0].lower()}.{i}@example.com".encode("ascii", "ignore").decode() \
            if rng.random() > 0.3 else ""
        at = f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}T10:00:00Z"
        customers.append({
            "customer_id": customer_id_of("S001", f"R{rng.randrange(1, 6)}", "e0", i), "name": name,
            "code": f"29{i:010d}" if rng.random() > 0.1 else "", "phone": phone, "email": email,
            "consent_email": rng.random() > 0.5, "consent_sms": rng.random() > 0.7, "created_at": at,
            "updated_at": at, "duplicate_code": False})
    return {"version": 1, "store": "S001", "generated_at": "2026-11-30T18:00:00Z", "customers": customers,
            "heads": [{"register": f"R{r}", "epoch": "e0", "seq": 0} for r in range(1, 6)], "kind": "customers"}


def queries(store: dict, rng: random.Random) -> dict[str, list[str]]:
    names = [c["name"] for c in store["customers"]]
    phones = [c["phone"] for c in store["customers"] if c["phone"]]
    codes = [c["code"] for c in store["customers"] if c["code"]]
    word = [w for n in rng.sample(names, 400) for w in n.split()]
    return {
        "1 letter": [rng.choice(LETTERS) for _ in range(200)],
        "2 letters": [w[:2] for w in rng.sample(word, 200)],
        "3 letters": [w[:3] for w in rng.sample(word, 200)],
        "full name": rng.sample(names, 200),
        "2 words": [" ".join(p[:rng.randrange(1, 4)] for p in n.split()[:2]) for n in rng.sample(names, 200)],
        "phone prefix": ["0" + "".join(c for c in p if c.isdigit())[2:rng.randrange(5, 9)]
                         for p in rng.sample(phones, 100)]
                        + ["".join(c for c in p if c.isdigit())[:rng.randrange(4, 8)] for p in rng.sample(phones, 100)],
        "phone suffix": ["".join(c for c in p if c.isdigit())[-rng.randrange(4, 7):] for p in rng.sample(phones, 200)],
        "card code": rng.sample(codes, 200),
    }


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def timed(fn, *args) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t0) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--edits", type=int, default=500)
    ap.add_argument("--baseline-queries", type=int, default=25, help="linear-scan queries per kind (slow)")
    args = ap.parse_args()
    rng = random.Random(1)
    store = make_store(args.customers)
    document = json.dumps(store, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    t_model, _ = timed(CustomerList.model_validate_json, document)
    print(f"{args.customers} customers: list document {len(document) / 2**20:.1f} MiB "
          f"(limit {CustomerList.MAX_BYTES / 2**20:.0f} MiB), contract model validation {t_model:.0f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        book = CustomerBook(data, "S001", "R1")
        t_apply, _ = timed(book.apply_list, store)
        index_bytes = (data / "customers.index").stat().st_size
        print(f"apply list (build + write index, once per list): {t_apply:.0f} ms, index file "
              f"{index_bytes / 2**20:.1f} MiB")
        sample = rng.sample(store["customers"], args.edits)
        for i, c in enumerate(sample):
            if i % 5 == 0:
                book.create({"name": f"{c['name']} Neu", "phone": "+49 170 5550" + f"{i:03d}"}, "2026-11-30T18:01:00Z")
            else:
                book.edit(c["customer_id"], {"phone": f"+49 151 {i:07d}"}, "2026-11-30T18:01:00Z")
        starts = [timed(CustomerBook, data, "S001", "R1")[0] for _ in range(5)]
        book = CustomerBook(data, "S001", "R1")
        print(f"start-up (read index + replay {len(book.pending())} local edits), 5 runs: "
              f"median {statistics.median(starts):.0f} ms, max {max(starts):.0f} ms   [target < 300 ms]")
        base_loads = []
        for _ in range(3):
            t0 = time.perf_counter()
            CustomerIndex.build(json.loads(document))
            base_loads.append((time.perf_counter() - t0) * 1000)
        print(f"  baseline start-up without the prebuilt index (parse list + build index): "
              f"median {statistics.median(base_loads):.0f} ms")
        everyone = list(book.iter_all())
        print(f"\n{'query kind':<14}{'n':>5}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}   "
              f"{'linear p50':>10}{'p99':>8}   results")
        all_samples: list[float] = []
        mismatches = 0
        for kind, qs in queries(store, rng).items():
            samples, counts = [], []
            for q in qs:
                ms, found = timed(book.search, q)
                samples.append(ms)
                counts.append(len(found))
            base = []
            for q in qs[:args.baseline_queries]:
                ms, ref = timed(linear_search, everyone, q)
                base.append(ms)
                got = book.search(q)
                if [c.customer_id for c in got] != [c.customer_id for c in ref]:
                    mismatches += 1
                    print(f"  MISMATCH for {q!r}")
            all_samples += samples
            print(f"{kind:<14}{len(qs):>5}{pct(samples, 50):>9.2f}{pct(samples, 99):>9.2f}{max(samples):>9.2f}   "
                  f"{pct(base, 50):>10.1f}{pct(base, 99):>8.1f}   avg {statistics.mean(counts):.1f}")
        print(f"{'all':<14}{len(all_samples):>5}{pct(all_samples, 50):>9.2f}{pct(all_samples, 99):>9.2f}"
              f"{max(all_samples):>9.2f}   [target p99 < 20 ms]")
        print(f"indexed results equal to the linear scan's: {'yes' if not mismatches else f'NO ({mismatches})'}")


if __name__ == "__main__":
    main()
