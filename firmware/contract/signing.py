"""Signed downlink: the fleet signs every catalog, clerk roster and command; a register that pins the fleet's key
accepts nothing else.

Envelope (what is published on the catalog, clerks and commands topics; compact UTF-8 JSON)::

    {"signed": "<base64 of the exact document bytes>",
     "sig":    "<base64 of the Ed25519 signature>",
     "key":    "<fingerprint of the signing key: lowercase hex SHA-256 of its DER SubjectPublicKeyInfo>",
     "topic":  "<the topic it was signed for>"}

The signature covers ``b"kassa-downlink/1\\n" + topic (UTF-8) + b"\\n" + document bytes``: the exact bytes the
register then parses (no re-serialisation anywhere), bound to one topic, so a roster signed for store S001 cannot
be replayed on S002's clerks topic, nor a command for R1 on R2's. Base64 is standard, padded. The document inside
is the unchanged contract payload with its usual size limit; the envelope may be at most 4/3 of that plus 1 KiB.

Keys: Ed25519 (`kassa-fleet keygen`). The register pins one or more public keys (PEM, concatenated) in the file
named by ``[broker] fleet_key_file`` (written by ``kassa-provision init --fleet-key`` or a bundle). Once a key is
pinned, an unsigned document, a bad signature, an unknown key or another topic is refused whole (logged, counted;
what the register holds stays). Unsigned documents are accepted only when no fleet key is configured (a lab): then
an envelope is simply opened without a check, since there is nothing to check it against. If the configured key
file cannot be read, everything is refused (fail closed) and the reason logged.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from firmware.contract.errors import PayloadRejected

__all__ = ["CONTEXT", "SignatureRejected", "Signer", "Verifier", "envelope_limit", "fingerprint", "is_envelope",
           "load_public_keys", "new_key_pair", "open_unverified", "parse_private_key", "signed_message"]

CONTEXT = b"kassa-downlink/1\n"
ENVELOPE_KEYS = ("signed", "sig", "key", "topic")


class SignatureRejected(PayloadRejected):
    """A downlink document that is not signed by a pinned fleet key (or not for this topic)."""


def fingerprint(public_key: Ed25519PublicKey) -> str:
    """Lowercase hex SHA-256 of the key's DER SubjectPublicKeyInfo (what `kassa-fleet keygen` prints)."""
    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()


def signed_message(topic: str, document: bytes) -> bytes:
    """The bytes the signature covers: context, topic, document."""
    return CONTEXT + topic.encode("utf-8") + b"\n" + bytes(document)


def envelope_limit(max_document_bytes: int) -> int:
    return max_document_bytes * 4 // 3 + 1024


def new_key_pair() -> tuple[bytes, bytes, str]:
    """(private key PEM (PKCS#8, unencrypted), public key PEM, fingerprint) of a fresh Ed25519 key."""
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public = key.public_key()
    public_pem = public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private_pem, public_pem, fingerprint(public)


def parse_private_key(pem: bytes) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM; ValueError with the reason otherwise."""
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"not an Ed25519 key (it is {type(key).__name__.removeprefix('_')}); make one with "
                         "`kassa-fleet keygen`")
    return key


def load_public_keys(pem: bytes) -> list[Ed25519PublicKey]:
    """Every Ed25519 public key in a PEM file (one or more blocks); ValueError if none or any is not Ed25519."""
    begin, end = b"-----BEGIN PUBLIC KEY-----", b"-----END PUBLIC KEY-----"
    blocks, rest = [], bytes(pem)
    while begin in rest and end in rest:
        _, _, rest = rest.partition(begin)
        body, _, rest = rest.partition(end)
        blocks.append(begin + body + end)
    if not blocks:
        raise ValueError("no PEM public key in it (expected -----BEGIN PUBLIC KEY-----, from `kassa-fleet keygen`)")
    keys = []
    for block in blocks:
        try:
            key = serialization.load_pem_public_key(block.strip() + b"\n")
        except (ValueError, TypeError) as exc:
            raise ValueError(f"not a PEM public key ({exc})") from None
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"not an Ed25519 key (it is {type(key).__name__.removeprefix('_')}); the fleet "
                             "signs with Ed25519 (`kassa-fleet keygen`)")
        keys.append(key)
    return keys


class Signer:
    """The fleet's side: wraps document bytes in a signed envelope for one topic."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._key = private_key
        self.key_id = fingerprint(private_key.public_key())

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self._key.public_key()

    def wrap(self, topic: str, document: bytes) -> bytes:
        sig = self._key.sign(signed_message(topic, document))
        env = {"signed": base64.b64encode(document).decode("ascii"), "sig": base64.b64encode(sig).decode("ascii"),
               "key": self.key_id, "topic": topic}
        return json.dumps(env, separators=(",", ":")).encode("ascii")

    __call__ = wrap  # usable wherever a `signer(topic, payload) -> bytes` callable is wanted


def _envelope(data: bytes) -> dict[str, object] | None:
    """The parsed envelope when `data` is one (a JSON object with `signed` and `sig`), else None."""
    if not data.lstrip().startswith(b"{") or b'"sig"' not in data:
        return None
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        return None
    if isinstance(doc, dict) and "signed" in doc and "sig" in doc:
        return doc
    return None


def is_envelope(data: bytes) -> bool:
    return _envelope(bytes(data)) is not None


def _b64(value: object, what: str) -> bytes:
    if not isinstance(value, str):
        raise SignatureRejected(f"signed envelope: {what} must be a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureRejected(f"signed envelope: {what} is not valid base64") from None


def open_unverified(data: bytes) -> bytes:
    """The document inside an envelope without checking it (or `data` itself when it is not one).

    Only for reading, e.g. the version of a retained catalog; never for anything a register applies.
    """
    env = _envelope(bytes(data))
    if env is None:
        return bytes(data)
    return _b64(env.get("signed"), "signed")


class Verifier:
    """The register's side: opens envelopes signed by a pinned key; without a pinned key, passes documents through."""

    def __init__(self, keys: list[Ed25519PublicKey] | None = None, *, source: str = "", error: str | None = None):
        self._keys = {fingerprint(k): k for k in keys or []}
        self.source = source
        self.error = error  # the key file is configured but unusable: refuse everything

    @classmethod
    def from_file(cls, path: Path | None) -> Verifier:
        """The verifier for `[broker] fleet_key_file` (None: no key pinned, a lab)."""
        if path is None:
            return cls()
        try:
            return cls(load_public_keys(Path(path).read_bytes()), source=str(path))
        except OSError as exc:
            return cls(source=str(path), error=f"the pinned fleet key {path} cannot be read ({exc.strerror})")
        except ValueError as exc:
            return cls(source=str(path), error=f"the pinned fleet key {path} is unusable: {exc}")

    @property
    def pinned(self) -> bool:
        return bool(self._keys) or self.error is not None

    @property
    def fingerprints(self) -> list[str]:
        return sorted(self._keys)

    def open(self, topic: str, data: bytes, max_document_bytes: int) -> bytes:
        """The document bytes to parse; SignatureRejected (a PayloadRejected) when a pinned key does not vouch
        for exactly these bytes on this topic."""
        data = bytes(data)
        if not self.pinned:
            return open_unverified(data) if len(data) <= envelope_limit(max_document_bytes) else data
        if self.error:
            raise SignatureRejected(f"refused: {self.error}")
        if len(data) > envelope_limit(max_document_bytes):
            raise SignatureRejected(f"signed envelope: {len(data)} bytes is over the limit of "
                                    f"{envelope_limit(max_document_bytes)}")
        env = _envelope(data)
        if env is None:
            raise SignatureRejected("refused: not signed, and this register pins a fleet key "
                                    f"({self.fingerprints[0][:16]}...)")
        key_id = env.get("key")
        key = self._keys.get(key_id) if isinstance(key_id, str) else None
        if key is None:
            raise SignatureRejected(f"refused: signed by key {str(key_id)[:16]!r}..., not by the pinned fleet key "
                                    f"({self.fingerprints[0][:16]}...)")
        if env.get("topic") != topic:
            raise SignatureRejected(f"refused: signed for topic {str(env.get('topic'))[:200]!r}, not {topic!r}")
        document, sig = _b64(env.get("signed"), "signed"), _b64(env.get("sig"), "sig")
        if len(document) > max_document_bytes:
            raise SignatureRejected(f"signed document: {len(document)} bytes is over the limit of "
                                    f"{max_document_bytes}")
        try:
            key.verify(sig, signed_message(topic, document))
        except InvalidSignature:
            raise SignatureRejected("refused: the signature does not match the document (tampered, or signed "
                                    "by another key)") from None
        return document
