"""Every error hal raises; each is also a builtin exception and its message names the fix."""

from __future__ import annotations


class HalError(Exception):
    """Base of hal's errors."""


class HardwareConfigError(HalError, ValueError):
    """A `[hardware]` value cannot be used; the message names the key and a valid example."""

    def __init__(self, key: str, value: object, problem: str, example: str) -> None:
        self.key = key
        self.value = value
        super().__init__(f"{key} = {value!r}: {problem}. Example: {key} = \"{example}\"")


class BackendMissing(HalError, ImportError):
    """A backend's library is not installed; the message says what to install."""


class DeviceUnavailable(HalError, OSError):
    """A device could not be opened or stopped answering; the message says what to check."""


class PaperOut(DeviceUnavailable):
    """The printer reported that its paper ran out."""


class UnknownJob(HalError, KeyError):
    """A job id that is not (or no longer) in the printer's backlog."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "unknown job"
