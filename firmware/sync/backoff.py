"""Reconnect delays for the register's link: the contract's one rule (firmware/contract/reconnect.py)."""

from __future__ import annotations

from firmware.contract.reconnect import PROBE_EVERY, RETURN_SPREAD, Backoff, Reconnect

__all__ = ["PROBE_EVERY", "RETURN_SPREAD", "Backoff", "Reconnect"]
