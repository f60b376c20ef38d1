"""The data and payload cipher reads what eventsourcing's AESCipher wrote (every event
stored before it) and writes what that cipher reads; a damaged message is refused."""

import os
from base64 import b64encode

import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from infrastructure.data_keys import GcmCipher


def library_cipher(key: bytes) -> AESCipher:
    return AESCipher(Environment(env={AESCipher.CIPHER_KEY: b64encode(key).decode()}))


@pytest.mark.parametrize("size", [16, 24, 32])
def test_each_reads_what_the_other_wrote(size: int) -> None:
    key = os.urandom(size)
    ours, theirs = GcmCipher(key), library_cipher(key)
    message = '{"data":{"text":"héllo 你好"}}'.encode() * 7
    assert ours.decrypt(theirs.encrypt(message)) == message
    assert theirs.decrypt(ours.encrypt(message)) == message
    assert ours.encrypt(message) != ours.encrypt(message)  # a nonce of its own each time


def test_a_damaged_or_foreign_message_is_refused() -> None:
    key = os.urandom(32)
    sealed = bytearray(GcmCipher(key).encrypt(b"secret words"))
    sealed[-1] ^= 1
    with pytest.raises(ValueError, match="damaged"):
        GcmCipher(key).decrypt(bytes(sealed))
    with pytest.raises(ValueError):
        GcmCipher(os.urandom(32)).decrypt(GcmCipher(key).encrypt(b"secret words"))
    with pytest.raises(ValueError):
        GcmCipher(key).decrypt(b"short")
