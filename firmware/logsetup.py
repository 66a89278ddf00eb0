"""Logging for the appliance: a rotating file in the data dir plus stderr for journald."""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    rotating = logging.handlers.RotatingFileHandler(path, maxBytes=1_000_000, backupCount=5, encoding="utf-8")
    rotating.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(rotating)
    return path
