"""Ed25519 keys and signatures for checkpoints of the seal chain (RFC 8032, pycryptodome).

A private key is written as the base64 of its 32-byte seed (the value of
LLMCHAT_SIGNING_KEY), a public key as the base64 of its 32 raw bytes; its key id is the
first 16 hex digits of the SHA-256 of those bytes, short enough to read out loud.
"""

import base64
import binascii
import hashlib

from Crypto.PublicKey import ECC
from Crypto.Signature import eddsa


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
    seed = ECC.generate(curve="ed25519").seed
    private = base64.b64encode(seed).decode()
    return private, public_key_of(private)


def public_key_of(private: str) -> str:
    key = eddsa.import_private_key(key_bytes(private, "private key"))
    return base64.b64encode(key.public_key().export_key(format="raw")).decode()


def key_id(public: str) -> str:
    return hashlib.sha256(key_bytes(public, "public key")).hexdigest()[:16]


def sign(private: str, message: bytes) -> str:
    key = eddsa.import_private_key(key_bytes(private, "private key"))
    return base64.b64encode(eddsa.new(key, "rfc8032").sign(message)).decode()


def signature_holds(public: str, message: bytes, signature: str) -> bool:
    key = eddsa.import_public_key(key_bytes(public, "public key"))
    try:
        eddsa.new(key, "rfc8032").verify(message, base64.b64decode(signature, validate=True))
    except (ValueError, binascii.Error):
        return False
    return True
