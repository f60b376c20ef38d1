"""Encryption at rest of stored event payloads (AES-GCM), when LLMCHAT_ENCRYPTION_KEY is set.

The cipher is AES-GCM in eventsourcing's format (data_keys.GcmCipher); it covers each
event's state (the payload and its timestamp), not the stream ids, versions or event names
the log needs in the clear. Its key is the payload key of the key table
(infrastructure/data_keys.py): the master key the table was first made under, wrapped by
the current one, so that rotating the master key (`llmchat keys rotate`) re-wraps one row
instead of rewriting every event.
"""

from infrastructure.data_keys import GcmCipher, PostgresDataKeys, cipher_of
from infrastructure.settings import Settings


class PayloadCipher:
    """Opens the payload key on first use (the pool opens on first use too)."""

    def __init__(self, keys: PostgresDataKeys) -> None:
        self.keys = keys
        self.opened: GcmCipher | None = None

    def cipher(self) -> GcmCipher:
        if self.opened is None:
            key = self.keys.log_key()
            assert key is not None  # made only with a master key
            self.opened = cipher_of(key)
        return self.opened

    def encrypt(self, plaintext: bytes) -> bytes:
        return self.cipher().encrypt(plaintext)

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self.cipher().decrypt(ciphertext)


def event_cipher(settings: Settings, keys: PostgresDataKeys) -> PayloadCipher | None:
    if settings.encryption_key is None:
        return None
    return PayloadCipher(keys)
