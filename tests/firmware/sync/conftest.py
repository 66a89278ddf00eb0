"""Fixtures of the sync tests."""

from __future__ import annotations

import pytest

from tests.support.broker_acl import AclBroker


@pytest.fixture
def secured(tmp_path):
    """A real Mosquitto with the ACL of docs/technician.md as it stands (tests/support/broker_acl.py)."""
    broker = AclBroker(tmp_path / "broker").start()
    yield broker
    broker.kill()
