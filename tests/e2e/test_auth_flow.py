"""Register, login, use, refresh, reuse (family revoked), logout: all over HTTP."""

from tests.support.builders import PASSWORD, login, register, signed_in, unique_email


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_the_whole_token_life_cycle_over_http(http):
    email = unique_email()
    user = register(http, email.upper())
    assert user["email"] == email and set(user) == {"id", "email", "name", "createdAt"}

    data = login(http, email)
    assert data["expiresIn"] == 3600
    assert data["user"] == {"id": user["id"], "email": email, "role": "user"}

    first_refresh = data["refreshToken"]
    refreshed = http.post("/api/auth/refresh", json={"refreshToken": first_refresh})
    assert refreshed.status_code == 200, refreshed.text
    rotated = refreshed.json()["data"]
    assert rotated["refreshToken"] != first_refresh
    # Rotated again: the first token is no longer the one just replaced (which would be a
    # concurrent use, within the grace window), so presenting it is reuse.
    again_refreshed = http.post("/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert again_refreshed.status_code == 200, again_refreshed.text
    newer = again_refreshed.json()["data"]

    reused = http.post("/api/auth/refresh", headers=bearer(first_refresh))
    assert reused.status_code == 401 and reused.json()["code"] == "UNAUTHORIZED"
    # Reuse revoked the family: the rotated refresh token and its access token die too.
    assert (
        http.post("/api/auth/refresh", json={"refreshToken": newer["refreshToken"]}).status_code
        == 401
    )
    assert http.post("/api/auth/logout", headers=bearer(newer["token"])).status_code == 401

    again = login(http, email)
    assert http.post("/api/auth/logout", headers=bearer(again["token"])).status_code == 200
    assert http.post("/api/auth/logout", headers=bearer(again["token"])).status_code == 401
    assert (
        http.post("/api/auth/refresh", json={"refreshToken": again["refreshToken"]}).status_code
        == 401
    )


def test_a_duplicate_email_in_any_case_is_a_conflict(http):
    email = unique_email()
    register(http, email)
    response = http.post(
        "/api/auth/register", json={"email": email.upper(), "password": PASSWORD, "name": "Twin"}
    )
    assert response.status_code == 409 and response.json()["code"] == "CONFLICT"


def test_short_password_is_a_validation_error(http):
    response = http.post(
        "/api/auth/register", json={"email": unique_email(), "password": "short", "name": "A"}
    )
    assert response.status_code == 400 and response.json()["code"] == "VALIDATION_ERROR"


def test_wrong_password_is_401_and_repeated_failures_are_429(http):
    email = unique_email()
    register(http, email)
    codes = [
        http.post(
            "/api/auth/login", json={"email": email, "password": "wrong-password"}
        ).status_code
        for _ in range(6)
    ]
    assert codes[:5] == [401] * 5
    assert codes[5] == 429
    refused = http.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert refused.json()["code"] == "RATE_LIMITED"


def test_access_token_is_not_a_refresh_token_nor_the_reverse(http):
    data, _ = signed_in(http)
    assert http.post("/api/auth/refresh", json={"refreshToken": data["token"]}).status_code == 401
    assert http.post("/api/auth/logout", headers=bearer(data["refreshToken"])).status_code == 401


def test_passwords_and_hashes_never_come_back(http):
    email = unique_email()
    body = http.post(
        "/api/auth/register", json={"email": email, "password": PASSWORD, "name": "A"}
    ).text
    body += http.post("/api/auth/login", json={"email": email, "password": PASSWORD}).text
    assert PASSWORD not in body and "argon2" not in body and "hash" not in body.lower()


def test_the_configured_admin_exists_with_the_admin_role(http):
    from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD

    assert login(http, ADMIN_EMAIL, ADMIN_PASSWORD)["user"]["role"] == "admin"


def test_a_token_signed_with_the_secret_for_an_account_that_does_not_exist_is_401(http):
    import time
    import uuid

    import jwt

    from tests.conftest import JWT_SECRET

    now = int(time.time())
    claims = {
        "sub": str(uuid.uuid4()),
        "role": "admin",
        "fam": str(uuid.uuid4()),
        "typ": "access",
        "jti": str(uuid.uuid4()),
        "iat": now,
        "exp": now + 600,
    }
    forged = jwt.encode(claims, JWT_SECRET, algorithm="HS256")
    for path in ("/api/chat/sessions", "/api/admin/stats"):
        answer = http.get(path, headers=bearer(forged))
        assert answer.status_code == 401, (path, answer.text)
        assert answer.json()["code"] == "UNAUTHORIZED"
    # A real account's token still passes, on the same check.
    _, auth = signed_in(http)
    assert http.get("/api/chat/sessions", headers=auth).status_code == 200
