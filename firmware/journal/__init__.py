"""The power-loss-safe journal: receipts, their delivery state and small state records, on TinyDB.

Storage design (data_dir/journal/):

- `seg-<first seq>.log`: receipts as append-only records framed
  `magic | length | crc32 | canonical JSON` (records.py), written in place
  into zero-preallocated segment files and made durable with `fdatasync`
  before `commit_receipt` returns. A commit costs one small write and one
  sync whatever the journal's size. Full segments (4096 receipts or 6 MiB)
  are sealed: immutable, indexed by `seg-<first>.idx` written in the
  background; the next segment is preallocated in the background as
  `spare.log`, so a roll is one rename and one directory fsync.
- Opening reads the indexes of sealed segments and scans only the last
  segment: a torn tail (truncated, zero-filled or garbage last record) is
  dropped and reported in `journal.recovery`; a bad record with a good one
  after it raises JournalCorrupt naming file and offset, and nothing is
  changed. Sealed segments' CRCs are checked by a background verifier after
  open (verifier.py; damage becomes `journal.alarms`, reads of a damaged
  receipt raise JournalCorrupt), or before returning with `verify=True`.
  Memory holds offsets and the sale_id index, never the receipts.
- Retention (archive.py): `archive_confirmed(older_than)` moves sealed
  segments whose receipts are all confirmed and old enough to
  `seg-<first>.log.gz` listed in `archive.json`; they stay readable by seq
  and id, and seqs and the hash chain carry on across them.
- `delivery.log`: delivery marks, group-committed by a writer thread (one
  fsync for many marks), compacted to a snapshot by that thread.
- `state.log`: TinyDB's small tables (state records), logged as changed
  documents per write and compacted by atomic replace.
- `meta.json` (format, store, register, the current epoch and every epoch
  with its first seq: `open_epoch` starts a new one, e.g. after the fleet
  showed the journal was restored from an older copy; seqs and the hash
  chain carry on across epochs, receipt ids name the epoch holding their
  seq) and `../.kassa-hwm`, the high-water mark outside the journal
  directory, which turns a missing, emptied or shortened journal into
  JournalLost instead of a fresh start.

TinyDB is the API over it all: `storage.KassaStorage` is the Storage and
`storage.KassaTable` (TinyDB.table_class) makes `insert` on the receipts
table a constant-time append. Every file operation goes through an
injectable `fileops.FileOps`, which the fault-injection tests replace.
"""

from firmware.journal.archive import ArchiveResult
from firmware.journal.delivery import CONFIRMED, DELIVERED, PENDING, QUARANTINED
from firmware.journal.fileops import FileOps
from firmware.journal.journal import DeliverySummary, Journal

__all__ = ["Journal", "ArchiveResult", "DeliverySummary", "FileOps", "PENDING", "DELIVERED", "CONFIRMED", "QUARANTINED"]
