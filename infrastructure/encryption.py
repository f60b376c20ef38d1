"""Encryption at rest of stored event payloads (AES-GCM), when LLMCHAT_ENCRYPTION_KEY is set.

The cipher is eventsourcing's own; it covers each event's state (the payload and its
timestamp), not the stream ids, versions or event names the log needs in the clear.
"""

from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from infrastructure.settings import Settings


def event_cipher(settings: Settings) -> AESCipher | None:
    if settings.encryption_key is None:
        return None
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: settings.encryption_key}))
