"""/api/cad over HTTP: DXF parsed (once, when uploaded), DWG and garbage refused, SVG previews."""

import json
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from tests.support.builders import signed_in
from tests.support.server import run_cli
from tests.unit.test_cad import simple_drawing, to_bytes
from tests.unit.test_file_content import binary_dxf_bytes, dwg_bytes, png_bytes

SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def owner(http) -> dict[str, str]:
    return signed_in(http)[1]


def upload(http: httpx.Client, headers: dict[str, str], name: str, data: bytes) -> str:
    response = http.post("/api/upload", files={"file": (name, data)}, headers=headers)
    assert response.status_code == 200, response.text
    file_id: str = response.json()["data"]["id"]
    return file_id


def parse_sent(http: httpx.Client, headers: dict[str, str], name: str, data: bytes):
    return http.post("/api/cad/parse", files={"file": (name, data)}, headers=headers)


def parse_uploaded(http: httpx.Client, headers: dict[str, str], file_id: str):
    return http.post("/api/cad/parse", json={"fileId": file_id}, headers=headers)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    return body


def test_a_sent_dxf_is_parsed_into_the_spec_shape(http, owner):
    response = parse_sent(http, owner, "plan.dxf", to_bytes(simple_drawing()))
    assert response.status_code == 200, response.text
    drawing = response.json()["data"]

    assert drawing["entities"][0] == {
        "type": "LINE",
        "startPoint": {"x": 0.0, "y": -1.0},
        "endPoint": {"x": 10.0, "y": 2.0},
        "layer": "0",
    }
    assert drawing["entities"][1]["type"] == "CIRCLE"
    assert {"name": "0", "color": 7, "visible": True} in drawing["layers"]
    assert drawing["bounds"] == {"minX": -3.0, "minY": -1.0, "maxX": 10.0, "maxY": 8.0}
    assert (drawing["truncated"], drawing["entityCount"]) == (False, 2)


def test_a_binary_dxf_is_parsed_too(http, owner):
    response = parse_sent(http, owner, "plan.dxf", binary_dxf_bytes())
    assert [e["type"] for e in response.json()["data"]["entities"]] == ["LINE"]


def test_an_uploaded_dxf_is_parsed_once_and_the_result_kept(http, owner, server_env):
    file_id = upload(http, owner, "plan.dxf", to_bytes(simple_drawing()))

    first = parse_uploaded(http, owner, file_id)
    second = parse_uploaded(http, owner, file_id)

    assert first.status_code == second.status_code == 200, first.text
    assert first.json()["data"] == second.json()["data"]
    assert first.json()["data"]["entityCount"] == 2
    export = run_cli(["events", "export", "--stream", file_id], server_env)
    types = [json.loads(line)["type"] for line in export.stdout.splitlines()]
    assert types == ["FileUploaded", "CadParsed"]


def test_a_dwg_is_refused_with_415_naming_dxf(http, owner):
    body = assert_error(
        parse_sent(http, owner, "plan.dwg", dwg_bytes()), 415, "UNSUPPORTED_MEDIA_TYPE"
    )
    assert "DXF" in body["error"]["details"]
    file_id = upload(http, owner, "plan.dwg", dwg_bytes())
    body = assert_error(parse_uploaded(http, owner, file_id), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "DXF" in body["error"]["details"]


def test_garbage_is_a_validation_error(http, owner):
    body = assert_error(
        parse_sent(http, owner, "plan.dxf", b"this is not a drawing"), 400, "VALIDATION_ERROR"
    )
    assert "not a readable DXF" in body["error"]["details"]


def test_an_uploaded_file_that_is_not_a_drawing_is_unsupported(http, owner):
    file_id = upload(http, owner, "photo.png", png_bytes())
    assert_error(parse_uploaded(http, owner, file_id), 415, "UNSUPPORTED_MEDIA_TYPE")
    assert_error(
        http.get(f"/api/cad/{file_id}/preview.svg", headers=owner), 415, "UNSUPPORTED_MEDIA_TYPE"
    )


def test_a_parse_request_must_be_a_form_or_json(http, owner):
    response = http.post(
        "/api/cad/parse", content=b"0\nEOF\n", headers={**owner, "Content-Type": "text/plain"}
    )
    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    response = http.post(
        "/api/cad/parse", content=b"{", headers={**owner, "Content-Type": "application/json"}
    )
    assert_error(response, 400, "VALIDATION_ERROR")


def test_parsing_needs_a_token(http):
    assert_error(http.post("/api/cad/parse", json={"fileId": "x"}), 401, "UNAUTHORIZED")


def test_the_preview_draws_the_geometry_as_svg(http, owner):
    file_id = upload(http, owner, "plan.dxf", to_bytes(simple_drawing()))
    response = http.get(f"/api/cad/{file_id}/preview.svg", headers=owner)

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert response.headers["x-content-type-options"] == "nosniff"
    root = ElementTree.fromstring(response.text)  # noqa: S314 - our own server's output
    assert root.tag == f"{SVG}svg"
    assert len(root.findall(f".//{SVG}path")) == 2  # the line and the circle


def test_another_users_drawing_is_not_found(http, owner):
    file_id = upload(http, owner, "plan.dxf", to_bytes(simple_drawing()))
    stranger = signed_in(http)[1]
    assert_error(parse_uploaded(http, stranger, file_id), 404, "NOT_FOUND")
    assert_error(http.get(f"/api/cad/{file_id}/preview.svg", headers=stranger), 404, "NOT_FOUND")
    assert parse_uploaded(http, owner, file_id).status_code == 200


def test_a_deleted_drawing_is_not_found(http, owner):
    file_id = upload(http, owner, "plan.dxf", to_bytes(simple_drawing()))
    assert parse_uploaded(http, owner, file_id).status_code == 200
    http.delete(f"/api/upload/{file_id}", headers=owner)
    assert_error(parse_uploaded(http, owner, file_id), 404, "NOT_FOUND")
    assert_error(http.get(f"/api/cad/{file_id}/preview.svg", headers=owner), 404, "NOT_FOUND")
