"""Concurrent refreshes of one refresh token (two tabs at once) keep the user signed in."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.builders import signed_in
from tests.support.server import ServerProcess


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def refresh(http, token):
    return http.post("/api/auth/refresh", json={"refreshToken": token})


def test_8_concurrent_refreshes_all_get_the_same_pair_and_it_works(http, server):
    login, _ = signed_in(http)
    start = threading.Barrier(8)

    def one(_):
        with httpx.Client(base_url=server.base_url, timeout=30) as own:
            start.wait(timeout=30)  # all eight are ready before any asks
            return refresh(own, login["refreshToken"])

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(one, range(8)))
    assert [a.status_code for a in answers] == [200] * 8, [a.text for a in answers]
    pairs = {(a.json()["data"]["token"], a.json()["data"]["refreshToken"]) for a in answers}
    assert len(pairs) == 1
    ((token, refresh_token),) = pairs
    assert http.get("/api/chat/sessions", headers=bearer(token)).status_code == 200
    assert refresh(http, refresh_token).status_code == 200


def test_a_rotated_token_used_after_the_grace_window_revokes_the_sign_in(server_env):
    process = ServerProcess({**server_env, "LLMCHAT_REFRESH_GRACE_SECONDS": "1"})
    process.start()
    try:
        with httpx.Client(base_url=process.base_url, timeout=30) as http:
            login, _ = signed_in(http)
            rotated = refresh(http, login["refreshToken"])
            assert rotated.status_code == 200
            newer = rotated.json()["data"]
            time.sleep(2.1)  # the window is measured in whole seconds of the server's clock
            reused = refresh(http, login["refreshToken"])
            assert reused.status_code == 401 and "reuse" in reused.json()["message"]
            assert refresh(http, newer["refreshToken"]).status_code == 401
            assert http.get("/api/chat/sessions", headers=bearer(newer["token"])).status_code == 401
    finally:
        process.stop()
