"""The device's TLS client identity: an EC key made on the device (it never leaves) and a CSR for the fleet CA."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from provisioning.errors import InputRejected

__all__ = ["new_key_and_csr", "load_private_key", "check_certificate", "load_ca"]


def new_key_and_csr(common_name: str, organization: str | None = None) -> tuple[bytes, bytes]:
    """(PEM private key, PEM CSR) for a new P-256 key; CN is the broker identity (username)."""
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organization:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization))
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name(attrs))
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, csr.public_bytes(serialization.Encoding.PEM)


def load_private_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError):
        raise InputRejected(
            f"{path} is not a PEM private key; re-run `kassa-provision init --tls-client-key`"
        ) from None
    return key  # type: ignore[return-value]


def load_ca(path: Path) -> list[x509.Certificate]:
    """The certificates of a PEM CA file; refuses anything that is not one."""
    try:
        certs = x509.load_pem_x509_certificates(Path(path).read_bytes())
    except FileNotFoundError:
        raise InputRejected(f"CA file {path} does not exist; give the fleet CA's PEM file") from None
    except ValueError:
        raise InputRejected(
            f"{path} is not a PEM certificate; give the fleet CA's PEM file (-----BEGIN CERTIFICATE-----)"
        ) from None
    return certs


def check_certificate(cert_pem: bytes, key_path: Path, ca_path: Path | None) -> x509.Certificate:
    """Refuse a device certificate that does not match the device key or was not issued by the CA."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise InputRejected(
            "the certificate is not PEM; ask the fleet CA for the signed certificate in PEM form"
        ) from None
    key = load_private_key(key_path)
    pub = serialization.PublicFormat.SubjectPublicKeyInfo
    enc = serialization.Encoding.DER
    if cert.public_key().public_bytes(enc, pub) != key.public_key().public_bytes(enc, pub):
        raise InputRejected(
            f"the certificate is not for this device's key ({key_path}); sign this device's CSR, not another's"
        )
    if ca_path is not None:
        issuers = [c for c in load_ca(ca_path) if c.subject == cert.issuer]
        if not any(_issued_by(cert, ca) for ca in issuers):
            raise InputRejected(
                f"the certificate was not issued by the CA in {ca_path}; have the fleet CA sign the CSR"
            )
    return cert


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
