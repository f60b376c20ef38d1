"""Uploads over HTTP: every allowed type stored and served back, every refusal explained."""

import hashlib
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.builders import login, signed_in
from tests.support.server import ServerProcess
from tests.unit.test_file_content import ACCEPTED, pdf_bytes, png_bytes

MB = 1024 * 1024


def upload(
    http: httpx.Client,
    headers: dict[str, str],
    name: str,
    data: bytes,
    file_type: str | None = None,
    description: str | None = None,
) -> httpx.Response:
    fields = {"type": file_type, "description": description}
    return http.post(
        "/api/upload",
        files={"file": (name, data)},
        data={k: v for k, v in fields.items() if v is not None},
        headers=headers,
    )


def uploaded(http: httpx.Client, headers: dict[str, str], name: str, data: bytes) -> dict[str, Any]:
    response = upload(http, headers, name, data)
    assert response.status_code == 200, response.text
    file: dict[str, Any] = response.json()["data"]
    return file


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


@pytest.fixture
def owner(http) -> dict[str, str]:
    return signed_in(http)[1]


@pytest.fixture
def stranger(http) -> dict[str, str]:
    return signed_in(http)[1]


@pytest.mark.parametrize(
    ("name", "data", "file_type", "content_type"),
    ACCEPTED,
    ids=[f"{case[0]}-{i}" for i, case in enumerate(ACCEPTED)],
)
def test_every_allowed_type_is_stored_and_served_back(
    http, owner, name, data, file_type, content_type
):
    response = upload(http, owner, name, data, file_type, "a sample")
    assert response.status_code == 200, response.text
    file = response.json()["data"]
    extension = name.rsplit(".", 1)[1]

    assert file["filename"] == f"{file['id']}.{extension}"
    assert file["url"] == f"/uploads/{file['id']}.{extension}"
    assert (file["originalName"], file["size"], file["type"]) == (name, len(data), file_type)
    download = http.get(file["url"], headers=owner)
    assert download.status_code == 200
    assert download.content == data
    assert download.headers["content-type"] == content_type


def test_the_answer_has_the_spec_shape_and_the_details_match_it(http, owner):
    data = pdf_bytes()
    response = upload(http, owner, "spec.pdf", data, description="Quarterly plan")
    body = response.json()
    file = body["data"]
    assert body["code"] == "SUCCESS"
    assert {"id", "filename", "originalName", "size", "type", "url", "uploadedAt"} <= set(file)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", file["uploadedAt"])
    assert file["type"] == "document" and file["description"] == "Quarterly plan"
    assert file["sha256"] == hashlib.sha256(data).hexdigest()
    assert http.get(f"/api/upload/{file['id']}", headers=owner).json()["data"] == file


def test_an_upload_needs_a_token(http):
    response = upload(http, {}, "photo.png", png_bytes())
    assert_error(response, 401, "UNAUTHORIZED")


def test_a_file_of_exactly_10_mb_is_accepted(http, owner):
    file = uploaded(http, owner, "big.txt", b"a" * (10 * MB))
    assert file["size"] == 10 * MB


@pytest.mark.parametrize("size", [10 * MB + 1, 11 * MB], ids=["one-byte-over", "far-over"])
def test_a_file_over_10_mb_is_refused_with_413(http, owner, size):
    response = upload(http, owner, "big.txt", b"a" * size)
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    ("name", "data", "file_type", "says"),
    [
        ("tool.exe", b"MZ\x90\x00", None, ".exe"),
        ("photo.png", pdf_bytes(), None, "not a PNG image"),
        ("photo.png", png_bytes(), "cad", "does not match"),
        ("notes.txt", b"ok so far " * 1000 + b"\xc3\x28", None, "not valid UTF-8"),
        ("noextension", b"text", None, "no extension"),
    ],
    ids=["bad-extension", "mismatched-content", "wrong-declared-type", "invalid-utf8", "no-ext"],
)
def test_refused_uploads_say_why(http, owner, name, data, file_type, says):
    body = assert_error(upload(http, owner, name, data, file_type), 400, "VALIDATION_ERROR")
    assert says in body["error"]["details"]


def test_a_form_without_a_file_is_a_validation_error(http, owner):
    response = http.post("/api/upload", data={"type": "image"}, headers=owner)
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert "file" in body["error"]["details"]
    response = http.post("/api/upload", json={"file": "x"}, headers=owner)
    assert_error(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("path", ["/api/upload", "/api/cad/parse"])
@pytest.mark.parametrize(
    ("part_headers", "value"),
    [
        (b"", b"\xf5\xca"),  # not UTF-8
        (b"\r\nContent-Type: text/plain; charset=no-such-charset", b"x"),
        (b"\r\nContent-Type: text/plain; charset=utf-16", b"x"),  # half a UTF-16 unit
    ],
)
def test_a_form_field_that_is_not_text_in_its_charset_is_a_validation_error(
    http, owner, path, part_headers, value
):
    parts = [
        (b'Content-Disposition: form-data; name="file"; filename="a.txt"', b"notes"),
        (b'Content-Disposition: form-data; name="description"' + part_headers, value),
    ]
    body = b"".join(b"--b\r\n" + h + b"\r\n\r\n" + v + b"\r\n" for h, v in parts) + b"--b--\r\n"
    headers = {**owner, "Content-Type": "multipart/form-data; boundary=b"}

    response = http.post(path, content=body, headers=headers)

    details = assert_error(response, 400, "VALIDATION_ERROR")["error"]["details"]
    assert "charset" in details


def test_a_download_carries_the_original_name_and_safe_headers(http, owner):
    name = "设计 说明 v2.txt"
    file = uploaded(http, owner, name, "第一版\n".encode())
    response = http.get(file["url"], headers=owner)

    assert response.headers["content-disposition"] == (
        "attachment; filename=\"__ __ v2.txt\"; filename*=UTF-8''"
        "%E8%AE%BE%E8%AE%A1%20%E8%AF%B4%E6%98%8E%20v2.txt"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["accept-ranges"] == "bytes"
    assert response.headers["etag"] == f'"{file["sha256"]}"'
    assert response.headers["content-length"] == str(file["size"])


def test_a_range_request_gets_206_with_the_part(http, owner):
    data = bytes(range(256)) * 4096  # 1 MiB: the range spans several stored chunks
    file = uploaded(http, owner, "photo.png", png_bytes() + data)
    full = png_bytes() + data

    part = http.get(file["url"], headers={**owner, "Range": "bytes=262000-262200"})
    assert part.status_code == 206
    assert part.content == full[262000:262201]
    assert part.headers["content-range"] == f"bytes 262000-262200/{len(full)}"

    tail = http.get(file["url"], headers={**owner, "Range": "bytes=-10"})
    assert (tail.status_code, tail.content) == (206, full[-10:])


def test_an_unsatisfiable_range_gets_416_as_a_json_envelope(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    response = http.get(file["url"], headers={**owner, "Range": f"bytes={file['size']}-"})
    body = assert_error(response, 416, "REQUESTED_RANGE_NOT_SATISFIABLE")
    assert body["message"] == "Range not satisfiable"
    assert response.headers["content-range"] == f"bytes */{file['size']}"
    # The answer is the envelope, not the file: none of the file's own labels.
    assert response.headers["content-type"] == "application/json"
    assert "content-disposition" not in response.headers
    assert response.headers["content-length"] == str(len(response.content))


def test_if_none_match_with_the_current_etag_gets_304(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    etag = f'"{file["sha256"]}"'
    for matching in (
        etag,
        f"W/{etag}",  # weak comparison, as RFC 9110 asks for If-None-Match
        f'"older", {etag}',
        f'"a,b" ,W/{etag}',  # a comma inside a tag does not split it
        "*",
    ):
        response = http.get(file["url"], headers={**owner, "If-None-Match": matching})
        assert response.status_code == 304, (matching, response.status_code)
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert response.headers["cache-control"] == "private, no-cache"
        assert "content-disposition" not in response.headers
    # Before the range: a cached copy is current, so no part of it is sent.
    ranged = http.get(file["url"], headers={**owner, "If-None-Match": etag, "Range": "bytes=0-3"})
    assert ranged.status_code == 304


def test_if_none_match_with_other_etags_gets_the_file(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    for other in ('"something-else"', f'"{file["sha256"][:-1]}", W/"x"', file["sha256"]):
        response = http.get(file["url"], headers={**owner, "If-None-Match": other})
        assert (response.status_code, response.content) == (200, png_bytes()), other


def test_a_range_for_another_version_gets_the_whole_file(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    response = http.get(
        file["url"], headers={**owner, "Range": "bytes=0-3", "If-Range": '"something-else"'}
    )
    assert (response.status_code, response.content) == (200, png_bytes())


def test_another_users_file_is_not_found_anywhere(http, owner, stranger):
    file = uploaded(http, owner, "photo.png", png_bytes())
    for response in (
        http.get(f"/api/upload/{file['id']}", headers=stranger),
        http.get(file["url"], headers=stranger),
        http.delete(f"/api/upload/{file['id']}", headers=stranger),
        http.post("/api/cad/parse", json={"fileId": file["id"]}, headers=stranger),
        http.get(f"/api/cad/{file['id']}/preview.svg", headers=stranger),
    ):
        assert_error(response, 404, "NOT_FOUND")
    assert http.get(file["url"], headers=owner).status_code == 200


def test_a_download_needs_a_token(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    assert_error(http.get(file["url"]), 401, "UNAUTHORIZED")


def test_an_admin_sees_anyones_file(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    admin = {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}
    assert http.get(file["url"], headers=admin).content == png_bytes()


def test_a_deleted_file_is_gone_from_every_route(http, owner):
    file = uploaded(http, owner, "photo.png", png_bytes())
    response = http.delete(f"/api/upload/{file['id']}", headers=owner)
    assert response.status_code == 200 and response.json()["code"] == "SUCCESS"

    for response in (
        http.get(f"/api/upload/{file['id']}", headers=owner),
        http.get(file["url"], headers=owner),
        http.delete(f"/api/upload/{file['id']}", headers=owner),
    ):
        assert_error(response, 404, "NOT_FOUND")


def test_a_deleted_files_bytes_are_removed(http, owner, db_url):
    file = uploaded(http, owner, "photo.png", png_bytes())
    http.delete(f"/api/upload/{file['id']}", headers=owner)
    with psycopg.connect(db_url) as conn:
        row = conn.execute(
            "SELECT count(*) FROM llmchat_blob_chunks WHERE blob_id = %s", (file["id"],)
        ).fetchone()
    assert row == (0,)


@pytest.mark.parametrize("path", ["/api/upload/not-a-uuid", f"/api/upload/{uuid.uuid4()}"])
def test_unknown_ids_are_not_found(http, owner, path):
    assert_error(http.get(path, headers=owner), 404, "NOT_FOUND")


def test_every_instance_serves_every_file(http, owner, server_env):
    other = ServerProcess(server_env)
    other.start()
    try:
        file = uploaded(http, owner, "spec.pdf", pdf_bytes())
        with httpx.Client(base_url=other.base_url, timeout=30) as elsewhere:
            assert elsewhere.get(file["url"], headers=owner).content == pdf_bytes()
            assert elsewhere.delete(f"/api/upload/{file['id']}", headers=owner).status_code == 200
        assert_error(http.get(file["url"], headers=owner), 404, "NOT_FOUND")
    finally:
        other.stop()


def test_files_can_live_in_a_directory_instead(make_database, server_env, tmp_path: Path):
    directory = tmp_path / "files"
    env = {
        **server_env,
        "LLMCHAT_DATABASE_URL": make_database("directory_files"),
        "LLMCHAT_FILE_STORAGE": "directory",
        "LLMCHAT_FILE_DIR": str(directory),
    }
    server = ServerProcess(env)
    server.start()
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            headers = signed_in(client)[1]
            file = uploaded(client, headers, "spec.pdf", pdf_bytes())
            stored = [p for p in directory.rglob("*") if p.is_file()]
            assert [p.name for p in stored] == [file["id"]]
            assert stored[0].read_bytes() == pdf_bytes()
            assert client.get(file["url"], headers=headers).content == pdf_bytes()
            client.delete(f"/api/upload/{file['id']}", headers=headers)
            assert not stored[0].exists()
    finally:
        server.stop()
