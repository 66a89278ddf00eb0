"""Kassa firmware: the register's domain core, journal, sync and app service.

Nothing is built at import time; `firmware.bootstrap` wires a register from a
config. This package never imports pygame, `ui`, `provisioning` or `fleet`.
"""

__version__ = "0.1.0"
