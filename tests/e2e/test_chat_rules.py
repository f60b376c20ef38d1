"""Every validation and ownership rule of chat: each test fails if its rule is removed."""

import uuid

import pytest

from tests.support.builders import signed_in


def chat(client, auth, **body):
    body.setdefault("agentId", "demo")
    body.setdefault("messages", [{"role": "user", "content": "hello"}])
    return client.post("/api/chat/completions", headers=auth, json=body)


def assert_code(response, status, code):
    assert response.status_code == status, response.text
    assert response.json()["code"] == code


def test_a_message_over_10000_characters_is_refused(client, auth):
    assert (
        chat(client, auth, messages=[{"role": "user", "content": "x" * 10_000}]).status_code == 200
    )
    assert_code(
        chat(client, auth, messages=[{"role": "user", "content": "x" * 10_001}]),
        400,
        "VALIDATION_ERROR",
    )


@pytest.mark.parametrize("role", ["tool", "function", "", "USER"])
def test_only_system_user_and_assistant_roles(client, auth, role):
    messages = [{"role": role, "content": "x"}, {"role": "user", "content": "hello"}]
    assert_code(chat(client, auth, messages=messages), 400, "VALIDATION_ERROR")


def test_the_last_message_must_be_the_users_turn(client, auth):
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert_code(chat(client, auth, messages=messages), 400, "VALIDATION_ERROR")


def test_no_messages_is_refused(client, auth):
    assert_code(chat(client, auth, messages=[]), 400, "VALIDATION_ERROR")


@pytest.mark.parametrize(
    "config",
    [
        {"temperature": 2.1},
        {"temperature": -0.1},
        {"maxTokens": 0},
        {"temperature": "hot"},
        {"topK": 3},
    ],
)
def test_config_is_validated(client, auth, config):
    assert_code(chat(client, auth, config=config), 400, "VALIDATION_ERROR")


def test_config_within_bounds_is_accepted(client, auth):
    assert chat(client, auth, config={"temperature": 2, "maxTokens": 1}).status_code == 200


def test_unknown_or_inactive_agent_is_not_found(client, auth):
    assert_code(chat(client, auth, agentId="no-such-agent"), 404, "NOT_FOUND")
    assert_code(chat(client, auth, agentId="retired"), 404, "NOT_FOUND")


def test_a_session_id_that_is_not_a_uuid_is_refused(client, auth):
    assert_code(chat(client, auth, sessionId="../etc"), 400, "VALIDATION_ERROR")


def test_a_client_chosen_unused_session_id_starts_a_conversation(client, auth):
    session_id = str(uuid.uuid4())
    response = chat(client, auth, sessionId=session_id)
    assert response.status_code == 200 and response.json()["data"]["sessionId"] == session_id


def test_a_conversation_is_refused_past_1000_messages(client, auth):
    session_id = str(uuid.uuid4())
    messages = [
        {"role": "user" if n % 2 == 0 else "assistant", "content": f"m{n}"} for n in range(999)
    ]
    body = {"sessionId": session_id, "title": "long", "agentId": "demo", "messages": messages}
    assert client.post("/api/chat/sessions/save", headers=auth, json=body).status_code == 200
    assert_code(chat(client, auth, sessionId=session_id), 409, "CONFLICT")
    body["messages"] = [
        *messages,
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
    ]
    assert_code(client.post("/api/chat/sessions/save", headers=auth, json=body), 409, "CONFLICT")


def test_chat_needs_a_token(client):
    assert_code(client.post("/api/chat/completions", json={"agentId": "demo"}), 401, "UNAUTHORIZED")
    assert_code(client.get("/api/chat/sessions"), 401, "UNAUTHORIZED")


def test_another_user_sees_and_touches_nothing_of_a_conversation(client, auth):
    response = chat(client, auth, stream=False)
    data = response.json()["data"]
    session_id, message_id = data["sessionId"], data["id"]
    _, stranger = signed_in(client)
    assert_code(
        client.get(f"/api/chat/sessions/{session_id}/history", headers=stranger), 404, "NOT_FOUND"
    )
    assert_code(
        client.delete(f"/api/chat/sessions/{session_id}", headers=stranger), 404, "NOT_FOUND"
    )
    assert_code(chat(client, stranger, sessionId=session_id), 404, "NOT_FOUND")
    assert_code(client.get(f"/api/chat/streams/{message_id}", headers=stranger), 404, "NOT_FOUND")
    assert_code(
        client.post(f"/api/chat/streams/{message_id}/cancel", headers=stranger), 404, "NOT_FOUND"
    )
    save = {"sessionId": session_id, "title": "mine now", "agentId": "demo", "messages": []}
    assert_code(
        client.post("/api/chat/sessions/save", headers=stranger, json=save), 404, "NOT_FOUND"
    )
    listed = client.get("/api/chat/sessions", headers=stranger).json()["data"]["items"]
    assert session_id not in [item["id"] for item in listed]
    # ... while the owner still has it all.
    assert client.get(f"/api/chat/sessions/{session_id}/history", headers=auth).status_code == 200


def test_a_bad_last_event_id_is_refused(client, auth):
    message_id = chat(client, auth).json()["data"]["id"]
    response = client.get(
        f"/api/chat/streams/{message_id}", headers={**auth, "Last-Event-ID": "abc"}
    )
    assert_code(response, 400, "VALIDATION_ERROR")
