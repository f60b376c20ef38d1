"""Builders that arrange the usual preconditions over HTTP."""

import uuid
from typing import Any

import httpx

PASSWORD = "correct-horse-1"


def unique_email(prefix: str = "user") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}@example.com"


def register(
    http: httpx.Client, email: str | None = None, password: str = PASSWORD
) -> dict[str, Any]:
    email = email or unique_email()
    response = http.post(
        "/api/auth/register", json={"email": email, "password": password, "name": "Test"}
    )
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()["data"]["user"]
    return user


def login(http: httpx.Client, email: str, password: str = PASSWORD) -> dict[str, Any]:
    response = http.post("/api/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def signed_in(http: httpx.Client) -> tuple[dict[str, Any], dict[str, str]]:
    """A fresh user's login data and the Authorization header that goes with it."""
    email = unique_email()
    register(http, email)
    data = login(http, email)
    return data, {"Authorization": f"Bearer {data['token']}"}
