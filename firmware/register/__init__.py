"""The register service: commands and read models any front end drives (see docs/interfaces.md).

A functional core and a thin shell, as in cosmicpython's message bus:

- `core/` decides. `core.decide(state, message, ctx)` takes the immutable
  `RegisterState` (phase, clerk, sale, health, held PIN counters...), one
  command (`commands.py`, orders: `Scan`, `Tender`, `Refund`, `Park`...) or
  event (`events.py`, past tense: `ReceiptCommitted`, `LinkDown`...), and a
  `Context` (config, the time, fresh ids, read-only `Lookup`), finds the
  handler by type (`core/handlers/__init__.py`) and returns
  `Result(state, effects, outcome)`. No clock, no writes, no threads.
- `service.Register` is the shell: it keeps the state, carries the effects
  out in order (`core/effects.py`) and feeds their results back as events.
  Its public surface is `RegisterApi` (`api.py`), what the UI depends on;
  the parts it drives are the Protocols of `ports.py`.

The journey of a sale, in one direction:

1. scan: the UI calls `register.handle(Scan(code))` (a hal scanner's
   `ScanRead` comes off the event queue to the same handler);
2. core: `handlers/sale.py` adds the line; `Tender` paid in full seals the
   receipt body (`handlers/commit.py`), sets the phase `committing` and
   returns the effect `CommitReceipt`;
3. effect: the shell hands the body to the journal writer thread
   (`committer.py`);
4. journal: it assigns `seq` and the hash link, fsyncs, and puts
   `ReceiptCommitted` on the register's queue;
5. printer: `pump()` feeds that event to the core, which returns
   `OpenDrawer`, `PrintReceipt` and `SyncNow`; the shell opens the drawer and
   queues the print (`firmware/printout.py` lays it out, hal prints);
6. sync: `firmware/sync` reads the receipt from the journal's outbox and
   publishes it at QoS 1;
7. fleet: the ingest stores it once by `receipt_id`;
8. ack: the fleet confirms on `.../acks`; sync marks it confirmed and puts
   `ReceiptsConfirmed` on the queue, and the core asks the shell to refresh
   the outbox counts the status screen shows.
"""

from firmware.register import commands
from firmware.register.api import RegisterApi
from firmware.register.core.state import Phase
from firmware.register.service import Register
from firmware.register.view import (
    ClerkInfo,
    DeviceHealth,
    ItemInfo,
    LineView,
    LockoutView,
    Message,
    Outcome,
    ParkedInfo,
    QuickKeyInfo,
    RegisterView,
    SyncView,
    TotalsView,
)

__all__ = [
    "ClerkInfo",
    "DeviceHealth",
    "ItemInfo",
    "LineView",
    "LockoutView",
    "Message",
    "Outcome",
    "ParkedInfo",
    "Phase",
    "QuickKeyInfo",
    "Register",
    "RegisterApi",
    "RegisterView",
    "SyncView",
    "TotalsView",
    "commands",
]
