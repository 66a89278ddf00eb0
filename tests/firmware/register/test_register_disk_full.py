"""A full disk refuses the sale before money moves: no drawer kick, nothing half-written, and the same sale saves
once space is back."""

from __future__ import annotations

import errno
import os

import pytest

from firmware.register.core.commands import RetryCommit
from tests.firmware.register.conftest import PENCIL, RegisterRig, login_cashier
from tests.support.tmpfs import tiny_tmpfs


@pytest.fixture
def small_fs(tmp_path):
    """A real 1 MiB tmpfs."""
    with tiny_tmpfs(tmp_path / "small", "1m") as mnt:
        yield mnt


def fill(path):
    """Write zeros into `path` until the filesystem says it is full."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(fd, b"\0" * 1024)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)


def relay_pulses(reg):
    pin = reg.hardware.mock_factory.pin(17)
    return sum(1 for s in pin.states if s.state)


def test_full_disk_refuses_the_sale_before_the_drawer_opens_and_the_retry_saves_it_once(small_fs):
    rig = RegisterRig(small_fs / "data")
    reg = login_cashier(rig.start())
    try:
        fill(small_fs / "filler")
        committed = 0
        for _ in range(5000):
            reg.scan(PENCIL)
            pulses = relay_pulses(reg)
            reg.tender("cash", 200)
            reg.wait_idle()
            if reg.view().phase != "done":
                break
            committed += 1
            reg.new_sale()
        else:
            pytest.fail("the journal never ran out of space on a full 1 MiB filesystem")
        view = reg.view()
        assert view.phase == "tender" and "could not be saved" in view.message.text
        assert relay_pulses(reg) == pulses, "the drawer opened for a sale that was not saved"
        assert len(list(reg.journal.iter_receipts())) == committed
        (small_fs / "filler").unlink()
        assert reg.handle(RetryCommit()).ok
        reg.wait_idle()
        assert reg.view().phase == "done"
        receipts = list(reg.journal.iter_receipts())
        assert len(receipts) == committed + 1
        assert len({r["sale_id"] for r in receipts}) == committed + 1
    finally:
        rig.stop()
