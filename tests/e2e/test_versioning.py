"""Versions over HTTP: /api/v1 and the vendor media type name the same API."""

from tests.support.builders import signed_in

V1 = {"Accept": "application/vnd.llmchat.v1+json"}


def without_timestamp(answer):
    body = answer.json()
    body.pop("timestamp")
    return body


def test_v1_by_url_and_by_header_answer_the_same(http):
    _, auth = signed_in(http)
    by_url = http.get("/api/v1/agents", headers=auth)
    by_header = http.get("/api/agents", headers={**auth, **V1})
    plain = http.get("/api/agents", headers=auth)
    assert by_url.status_code == by_header.status_code == 200, by_url.text
    assert without_timestamp(by_url) == without_timestamp(by_header) == without_timestamp(plain)
    assert by_url.json()["data"]["items"], "the agents list is not empty"
    one = by_url.json()["data"]["items"][0]["id"]
    assert http.get(f"/api/v1/agents/{one}", headers=auth).json()["data"]["id"] == one
    assert by_url.headers["x-api-version"] == by_header.headers["x-api-version"] == "v1.0"


def test_auth_routes_answer_under_v1(http):
    data, _ = signed_in(http)
    refreshed = http.post("/api/v1/auth/refresh", json={"refreshToken": data["refreshToken"]})
    assert refreshed.status_code == 200, refreshed.text


def test_an_unknown_version_is_not_acceptable(http):
    _, auth = signed_in(http)
    answer = http.get("/api/agents", headers={**auth, "Accept": "application/vnd.llmchat.v9+json"})
    assert answer.status_code == 406 and answer.json()["code"] == "NOT_ACCEPTABLE"
    unknown_url = http.get("/api/v9/agents", headers=auth)
    assert unknown_url.status_code == 404 and unknown_url.json()["code"] == "NOT_FOUND"
