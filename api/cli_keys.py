"""`llmchat keys rotate --old-key KEY`: the data keys re-wrapped under a new master key.

LLMCHAT_ENCRYPTION_KEY is the new key; the old one is given once, on the command line.
No event is rewritten: payloads at rest are under the key table's payload key, which is
re-wrapped with the rest. Processes still running with the old key keep the keys they
hold; restart each with the new one.
"""

import argparse
import base64
import binascii
import sys

from api.bootstrap import Container
from infrastructure import postgres
from infrastructure.data_keys import MasterKeyMismatch, rotate_master


def add_rotate(key_actions: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    rotate = key_actions.add_parser(
        "rotate",
        help="re-wrap the data keys under LLMCHAT_ENCRYPTION_KEY (the new key), from --old-key",
    )
    rotate.add_argument(
        "--old-key", required=True, metavar="KEY", help="the LLMCHAT_ENCRYPTION_KEY until now"
    )


def is_key(value: str) -> bool:
    try:
        return len(base64.b64decode(value, validate=True)) in (16, 24, 32)
    except (binascii.Error, ValueError):
        return False


def rotate(container: Container, old: str) -> int:
    new = container.settings.encryption_key
    if new is None:
        print("llmchat: keys rotate: set LLMCHAT_ENCRYPTION_KEY to the new key", file=sys.stderr)
        return 2
    if not is_key(old):
        print(
            "llmchat: keys rotate: --old-key: expected base64 of 16, 24 or 32 bytes",
            file=sys.stderr,
        )
        return 2
    if old == new:
        print("llmchat: keys rotate: --old-key is LLMCHAT_ENCRYPTION_KEY itself", file=sys.stderr)
        return 2
    # Our tables made sure of, not the payload key's row: that is the old key, made below.
    postgres.create_tables(container.datastore, container.recorder)
    try:
        count = rotate_master(container.datastore, old, new)
    except MasterKeyMismatch as error:
        print(
            f"llmchat: keys rotate: --old-key does not open the key table ({error});"
            " nothing was changed",
            file=sys.stderr,
        )
        return 1
    print(
        f"{count} keys re-wrapped under the new LLMCHAT_ENCRYPTION_KEY; no event was rewritten."
        " Restart every process with the new key."
    )
    return 0
