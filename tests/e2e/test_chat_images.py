"""An image attached to a chat turn reaches image-taking providers as an image part in their
own wire format, and the others as a line naming it; the stored turn stays as typed."""

import base64
import struct
import time
import zlib

import pytest

from tests.e2e.test_chat_files import upload

QUESTION = "What colour is this square?"


def red_square_png(size: int = 4) -> bytes:
    """A real size x size RGB PNG, every pixel red."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    rows = b"".join(b"\x00" + b"\xff\x00\x00" * size for _ in range(size))
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
    return png + chunk(b"IEND", b"")


@pytest.fixture(scope="module")
def picture():
    return red_square_png()


def chat_with_files(client, auth, agent_id, file_ids):
    body = {
        "agentId": agent_id,
        "messages": [{"role": "user", "content": QUESTION}],
        "fileIds": file_ids,
    }
    response = client.post("/api/chat/completions", headers=auth, json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]["sessionId"]


def stored_turns(client, auth, session_id):
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        page = client.get(f"/api/chat/sessions/{session_id}/history", headers=auth)
        items = page.json()["data"]["items"]
        if items:
            return items
        time.sleep(0.05)
    raise AssertionError("the history never showed the turn")


def test_openai_gets_the_image_as_a_data_url_part(client, auth, fake, picture):
    image_id = upload(client, auth, "square.png", picture)

    session_id = chat_with_files(client, auth, "openai", [image_id])

    sent = fake.last_request("/openai/v1/chat/completions").body["messages"][-1]
    encoded = base64.b64encode(picture).decode()
    assert sent["content"] == [
        {"type": "text", "text": QUESTION},
        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}},
    ]
    assert stored_turns(client, auth, session_id)[0]["content"] == QUESTION


def test_anthropic_gets_the_image_as_a_base64_block_before_the_text(client, auth, fake, picture):
    image_id = upload(client, auth, "square.png", picture)
    notes_id = upload(client, auth, "notes.txt", b"The square was drawn by hand.")

    session_id = chat_with_files(client, auth, "anthropic", [image_id, notes_id])

    sent = fake.last_request("/anthropic/v1/messages").body["messages"][-1]
    image, text = sent["content"]
    assert image == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64.b64encode(picture).decode(),
        },
    }
    assert text["type"] == "text" and text["text"].startswith(QUESTION)
    assert "The square was drawn by hand." in text["text"], "text files still go as text"
    assert "square.png" not in text["text"], "a sent image is not also named"
    assert stored_turns(client, auth, session_id)[0]["content"] == QUESTION


def test_text_only_providers_get_a_line_naming_the_image(client, auth, fake, picture):
    image_id = upload(client, auth, "square.png", picture)

    chat_with_files(client, auth, "fastgpt", [image_id])
    chat_with_files(client, auth, "dify", [image_id])

    fastgpt = fake.last_request("/fastgpt/api/v1/chat/completions").body["messages"][-1]
    assert isinstance(fastgpt["content"], str)
    assert fastgpt["content"].startswith(QUESTION)
    assert "[Attached file: square.png] (image," in fastgpt["content"]
    dify = fake.last_request("/dify/v1/chat-messages").body["query"]
    assert "[Attached file: square.png] (image," in dify
    encoded = base64.b64encode(picture).decode()
    assert encoded not in fastgpt["content"] and encoded not in dify
