"""A chat turn with files: their content reaches the provider, the stored turn stays as typed."""

import io
import time

from ezdxf.filemanagement import new as new_drawing

from tests.support.builders import signed_in


def upload(client, auth, name, data):
    response = client.post("/api/upload", files={"file": (name, data)}, headers=auth)
    assert response.status_code == 200, response.text
    return response.json()["data"]["id"]


def drawing() -> bytes:
    doc = new_drawing()
    space = doc.modelspace()
    space.add_line((0, 0), (10, 0), dxfattribs={"layer": "WALLS"})
    space.add_circle((5, 5), 2, dxfattribs={"layer": "HOLES"})
    stream = io.StringIO()
    doc.write(stream)
    return stream.getvalue().encode()


def sent_user_turn(fake):
    return fake.last_request("/openai/v1/chat/completions").body["messages"][-1]["content"]


def test_a_text_file_and_a_drawing_go_to_the_provider_with_the_turn(client, auth, fake):
    notes = upload(client, auth, "notes.md", "# Plan\nThe launch is on 九月 3rd.".encode())
    plan = upload(client, auth, "plan.dxf", drawing())
    body = {
        "agentId": "openai",
        "messages": [{"role": "user", "content": "When is the launch?"}],
        "fileIds": [notes, plan],
    }
    response = client.post("/api/chat/completions", headers=auth, json=body)
    assert response.status_code == 200, response.text
    sent = sent_user_turn(fake)
    assert sent.startswith("When is the launch?")
    assert "[Attached file: notes.md]" in sent and "The launch is on 九月 3rd." in sent
    assert "DXF drawing with 2 entities" in sent and "WALLS" in sent and "HOLES" in sent
    session_id = response.json()["data"]["sessionId"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = client.get(f"/api/chat/sessions/{session_id}/history", headers=auth).json()["data"][
            "items"
        ]
        if items:
            break
        time.sleep(0.05)
    assert items[0]["content"] == "When is the launch?", "the stored turn is what the user typed"


def test_another_users_file_cannot_be_attached(client, auth):
    mine = upload(client, auth, "secret.txt", b"the vault code is 1234")
    _, stranger = signed_in(client)
    body = {
        "agentId": "openai",
        "messages": [{"role": "user", "content": "read it"}],
        "fileIds": [mine],
    }
    response = client.post("/api/chat/completions", headers=stranger, json=body)
    assert response.status_code == 404 and response.json()["code"] == "NOT_FOUND"
    assert "1234" not in response.text
