"""The one safe whole-file writer; it lives in `firmware.contract.atomicfile`.

The fleet's tools (key pair, publish state) write through it too, and the fleet may import only
`firmware.contract`, so the implementation moved there; this module keeps the register's import path. One
implementation: see firmware/contract/atomicfile.py for the rules (random O_EXCL|O_NOFOLLOW temp file in the
target directory, fchmod on its fd, fsync of the file and the directory, a link at the target refused).
"""

from __future__ import annotations

from firmware.contract.atomicfile import (
    DEFAULT_MODE,
    UnsafeTarget,
    atomic_writer,
    fsync_dir,
    make_dirs,
    open_dir,
    owner_of_dir,
    write_atomic,
)

__all__ = ["UnsafeTarget", "fsync_dir", "open_dir", "atomic_writer", "write_atomic", "make_dirs", "DEFAULT_MODE",
           "owner_of_dir"]
