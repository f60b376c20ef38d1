"""Encryption at rest: the event table holds no e-mail and no message text, the API works."""

import base64
import json
import uuid

import httpx
import psycopg
import pytest
from eventsourcing.cipher import AESCipher
from eventsourcing.utils import Environment

from tests.support.builders import login, register
from tests.support.event_log import raw_states
from tests.support.server import ServerProcess, run_cli

KEY = AESCipher.create_key(32)
SECRET_TEXT = f"the launch code is {uuid.uuid4().hex}"


@pytest.fixture(scope="module")
def encrypted(server_env, make_database):
    database = make_database("encrypted")
    env = {
        **server_env,
        "LLMCHAT_DATABASE_URL": database,
        "LLMCHAT_ENCRYPTION_KEY": KEY,
        "LLMCHAT_DB_POOL_SIZE": "4",
    }
    process = ServerProcess(env)
    process.start()
    yield process, database
    process.stop()


def test_payloads_are_ciphertext_in_the_table_and_plain_through_the_api(encrypted):
    process, database = encrypted
    email = f"secret-{uuid.uuid4().hex[:8]}@example.com"
    with httpx.Client(base_url=process.base_url, timeout=30) as client:
        register(client, email)
        auth = {"Authorization": f"Bearer {login(client, email)['token']}"}
        body = {"agentId": "demo", "stream": False}
        body["messages"] = [{"role": "user", "content": SECRET_TEXT}]
        answer = client.post("/api/chat/completions", headers=auth, json=body)
        assert answer.status_code == 200, answer.text
        assert login(client, email)["user"]["email"] == email  # read back through the cipher

    states = raw_states(database)
    assert states
    for needle in (email.encode(), SECRET_TEXT.encode(), b'"timestamp"'):
        assert not any(needle in state for state in states), needle
    # It is the ciphers' work, not data gone missing: the key opens every payload, and the
    # personal content in it opens with its data key, which the key unwraps.
    cipher = AESCipher(Environment(env={"CIPHER_KEY": KEY}))
    opened = [json.loads(cipher.decrypt(state)) for state in states]
    assert email not in json.dumps(opened) and SECRET_TEXT not in json.dumps(opened)
    keys = data_keys(database)
    assert keys and not any(email.encode() in k or SECRET_TEXT.encode() in k for k in keys.values())
    secrets = [payload["secret"].split(":") for payload in opened if payload.get("secret")]
    texts = [opened_secret(keys[key_id], sealed) for key_id, sealed in secrets]
    assert any(email in text for text in texts) and any(SECRET_TEXT in text for text in texts)


def data_keys(database: str) -> dict[str, bytes]:
    with psycopg.connect(database) as conn:
        rows = conn.execute("SELECT key_id, wrapped FROM llmchat_data_keys").fetchall()
    return {str(key_id): bytes(wrapped) for key_id, wrapped in rows}


def opened_secret(wrapped: bytes, sealed: str) -> str:
    master = AESCipher(Environment(env={"CIPHER_KEY": KEY}))
    key = base64.b64encode(master.decrypt(wrapped)).decode()
    data_key = AESCipher(Environment(env={"CIPHER_KEY": key}))
    return data_key.decrypt(base64.b64decode(sealed)).decode()


def test_a_bad_key_stops_the_start_naming_the_variable(server_env, tmp_path):
    bad = base64.b64encode(b"too short").decode()
    env = {**server_env, "LLMCHAT_ENCRYPTION_KEY": bad, "LLMCHAT_DATA_DIR": str(tmp_path)}
    process = ServerProcess(env)
    with pytest.raises(RuntimeError, match="LLMCHAT_ENCRYPTION_KEY"):
        process.start(timeout=15)


def test_rotation_rewraps_the_keys_under_the_new_key_and_rewrites_no_event(
    server_env, make_database
):
    database = make_database("rotated")
    old, new = AESCipher.create_key(32), AESCipher.create_key(32)
    env = {**server_env, "LLMCHAT_DATABASE_URL": database, "LLMCHAT_DB_POOL_SIZE": "4"}
    email = f"rotate-{uuid.uuid4().hex[:8]}@example.com"
    process = ServerProcess({**env, "LLMCHAT_ENCRYPTION_KEY": old})
    process.start()
    try:
        with httpx.Client(base_url=process.base_url, timeout=30) as client:
            register(client, email)
            auth = {"Authorization": f"Bearer {login(client, email)['token']}"}
            body = {"agentId": "demo", "stream": False}
            body["messages"] = [{"role": "user", "content": SECRET_TEXT}]
            session = client.post("/api/chat/completions", headers=auth, json=body).json()
    finally:
        process.stop()
    states, wrapped = raw_states(database), data_keys(database)

    refused = run_cli(["keys", "rotate", "--old-key", new], {**env, "LLMCHAT_ENCRYPTION_KEY": old})
    assert refused.returncode == 1 and "nothing was changed" in refused.stderr
    assert data_keys(database) == wrapped
    rotated = run_cli(["keys", "rotate", "--old-key", old], {**env, "LLMCHAT_ENCRYPTION_KEY": new})
    assert rotated.returncode == 0, rotated.stderr
    assert "no event was rewritten" in rotated.stdout
    assert raw_states(database) == states
    now = data_keys(database)
    assert now.keys() == wrapped.keys() and not set(now.values()) & set(wrapped.values())
    # The old key opens nothing in the table any more; the new one opens every key.
    for key in now.values():
        with pytest.raises(ValueError):
            AESCipher(Environment(env={"CIPHER_KEY": old})).decrypt(key)
        AESCipher(Environment(env={"CIPHER_KEY": new})).decrypt(key)

    exported = run_cli(["events", "export"], {**env, "LLMCHAT_ENCRYPTION_KEY": new})
    assert exported.returncode == 0, exported.stderr
    assert SECRET_TEXT in exported.stdout and email in exported.stdout
    process = ServerProcess({**env, "LLMCHAT_ENCRYPTION_KEY": new})
    process.start()
    try:
        with httpx.Client(base_url=process.base_url, timeout=30) as client:
            assert login(client, email)["user"]["email"] == email
    finally:
        process.stop()
    assert session["data"]["sessionId"] in exported.stdout
