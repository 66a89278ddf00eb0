"""Logging for the appliance: a rotating file in the data dir plus stderr for journald.

kassa.log (and each rotated one) is 0600 whatever the umask, and a symlink planted at its name is not followed.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path
from typing import Any

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are opened O_NOFOLLOW and kept 0600."""

    def _open(self) -> Any:  # Any: open() in the handler's mode (logging types it TextIOWrapper)
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)  # noqa: SIM115


def setup_logging(data_dir: Path | None, level: int = logging.INFO) -> Path | None:
    """Log to stderr and, when `data_dir` is given, to data_dir/kassa.log (5 x 1 MB)."""
    root = logging.getLogger()
    root.setLevel(level)
    for handler in list(root.handlers):
        root.removeHandler(handler)
    stream = logging.StreamHandler()
    stream.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(stream)
    if data_dir is None:
        return None
    path = Path(data_dir) / "kassa.log"
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    rotating = PrivateRotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    rotating.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(rotating)
    return path
