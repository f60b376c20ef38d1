"""Ed25519 keys and signatures for checkpoints of the seal chain (RFC 8032, on OpenSSL through
`cryptography`, which the data keys' AES-GCM loads anyway; Ed25519 signatures are
deterministic, so they are byte for byte what pycryptodome made before).

A private key is written as the base64 of its 32-byte seed (the value of
LLMCHAT_SIGNING_KEY), a public key as the base64 of its 32 raw bytes; its key id is the
first 16 hex digits of the SHA-256 of those bytes, short enough to read out loud.
"""

import base64
import binascii
import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey


class BadKey(ValueError):
    """A key that is not base64 of 32 bytes."""


def key_bytes(text: str, what: str) -> bytes:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raw = b""
    if len(raw) != 32:
        raise BadKey(f"expected an Ed25519 {what}: base64 of 32 bytes")
    return raw


def new_signing_key() -> tuple[str, str]:
    """A new private key and its public key."""
    seed = Ed25519PrivateKey.generate().private_bytes_raw()
    private = base64.b64encode(seed).decode()
    return private, public_key_of(private)


def public_key_of(private: str) -> str:
    key = Ed25519PrivateKey.from_private_bytes(key_bytes(private, "private key"))
    return base64.b64encode(key.public_key().public_bytes_raw()).decode()


def key_id(public: str) -> str:
    return hashlib.sha256(key_bytes(public, "public key")).hexdigest()[:16]


def sign(private: str, message: bytes) -> str:
    key = Ed25519PrivateKey.from_private_bytes(key_bytes(private, "private key"))
    return base64.b64encode(key.sign(message)).decode()


def signature_holds(public: str, message: bytes, signature: str) -> bool:
    key = Ed25519PublicKey.from_public_bytes(key_bytes(public, "public key"))
    try:
        key.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, binascii.Error):
        return False
    return True
