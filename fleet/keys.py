"""The fleet's downlink signing key: `kassa-fleet keygen`, and loading it for publish-* and ingest.

Ed25519 (firmware.contract.signing). The private key stays with the fleet (mode 0600, refused otherwise); the
public key goes to every register at provisioning (`kassa-provision init --fleet-key fleet-signing.pub.pem`, or in
a bundle), which then accepts only documents it signed.
"""

from __future__ import annotations

import stat
from pathlib import Path

from firmware.contract.atomicfile import UnsafeTarget, write_atomic
from firmware.contract.signing import Signer, new_key_pair, parse_private_key
from fleet.errors import FleetUsageError

PRIVATE_NAME = "fleet-signing.key"
PUBLIC_NAME = "fleet-signing.pub.pem"


def keygen(out: Path, *, force: bool = False) -> tuple[Path, Path, str]:
    """Write a new key pair into `out`; return (private path, public path, fingerprint)."""
    out = Path(out)
    private, public = out / PRIVATE_NAME, out / PUBLIC_NAME
    if not force and (private.exists() or public.exists()):
        raise FleetUsageError(f"{out} already holds a fleet signing key; registers pinned to it would refuse a "
                              "new one. Use another --out (or --force to replace it)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        private_pem, public_pem, fp = new_key_pair()
        # the one safe writer: a random temp name made O_EXCL|O_NOFOLLOW, the mode set on our own fd, a link at
        # either key's name refused (UnsafeTarget) instead of followed
        write_atomic(private, private_pem, 0o600)
        write_atomic(public, public_pem, 0o644)
    except UnsafeTarget as exc:
        raise FleetUsageError(f"--out {out}: {exc.sentence}; refusing to write the key there") from None
    except OSError as exc:
        raise FleetUsageError(f"--out {out}: cannot write the key ({exc.strerror})") from None
    return private, public, fp


def load_signer(path: Path) -> Signer:
    """The signer for a private key file (mode 0600, Ed25519); FleetUsageError naming the fix otherwise."""
    path = Path(path)
    try:
        st = path.stat()
        pem = path.read_bytes()
    except OSError as exc:
        raise FleetUsageError(f"--signing-key {path}: cannot read ({exc.strerror})") from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise FleetUsageError(f"--signing-key {path} is readable by others; run `chmod 600 {path}`")
    try:
        return Signer(parse_private_key(pem))
    except ValueError as exc:
        raise FleetUsageError(f"--signing-key {path}: {exc}") from None
