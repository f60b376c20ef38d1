"""GET /metrics: Prometheus text that parses, by route template, for admins and metrics keys."""

import time

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.builders import login, signed_in
from tests.support.server import ServerProcess

EXPECTED = {
    "llmchat_http_requests",
    "llmchat_http_request_duration_seconds",
    "llmchat_active_streams",
    "llmchat_time_to_first_chunk_seconds",
    "llmchat_provider_errors",
    "llmchat_event_store_append_seconds",
    "llmchat_projection_lag_events",
    "llmchat_job_queue_depth",
}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def scrape(client, headers):
    answer = client.get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {family.name: family for family in text_string_to_metric_families(answer.text)}


def requests_total(families, **labels):
    return sum(
        sample.value
        for sample in families["llmchat_http_requests"].samples
        if sample.name == "llmchat_http_requests_total"
        and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def projection_lag(client, headers, within=15.0):
    """The lag samples, once the projections have started and recorded a position."""
    deadline = time.monotonic() + within
    while True:
        lag = scrape(client, headers)["llmchat_projection_lag_events"].samples
        if lag or time.monotonic() > deadline:
            return lag
        time.sleep(0.2)


@pytest.fixture
def admin(http):
    return bearer(login(http, ADMIN_EMAIL, ADMIN_PASSWORD)["token"])


def test_admins_scrape_every_metric_labelled_by_route_template(http, admin):
    missing_key = "/api/admin/api-keys/00000000-0000-4000-8000-000000000000"
    assert http.delete(missing_key, headers=admin).status_code == 404
    families = scrape(http, admin)
    assert set(families) >= EXPECTED
    template = "/api/admin/api-keys/{keyId}"
    assert requests_total(families, method="DELETE", route=template, status="404") >= 1
    routes = {s.labels.get("route") for s in families["llmchat_http_requests"].samples}
    assert missing_key not in routes, "raw paths would make unbounded series"
    appends = families["llmchat_event_store_append_seconds"].samples
    assert any(s.name.endswith("_count") and s.value > 0 for s in appends)


def test_users_are_forbidden_and_strangers_unauthorised(http):
    _, user = signed_in(http)
    forbidden = http.get("/metrics", headers=user)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "FORBIDDEN"
    assert http.get("/metrics").status_code == 401


def test_a_metrics_key_scrapes_a_plain_key_does_not(http, admin):
    def key(**body):
        answer = http.post("/api/admin/api-keys", headers=admin, json={"name": "prom", **body})
        return bearer(answer.json()["data"]["key"])

    assert "llmchat_http_requests" in scrape(http, key(scopes=["metrics"]))
    assert http.get("/metrics", headers=key()).status_code == 403


def test_processes_sharing_a_multiprocess_directory_are_summed(server_env, tmp_path):
    env = {**server_env, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "LLMCHAT_DB_POOL_SIZE": "4"}
    # One runs the projections too, so there is a projection lag to report.
    processes = [ServerProcess(env, args=()), ServerProcess(env)]
    try:
        for process in processes:
            process.start()
        for count, process in zip((3, 4), processes, strict=True):
            with httpx.Client(base_url=process.base_url) as client:
                for _ in range(count):
                    client.get("/api/v1/agents")  # 401, counted under /api/agents
        with httpx.Client(base_url=processes[0].base_url) as client:
            token = client.post(
                "/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}
            ).json()["data"]["token"]
            families = scrape(client, bearer(token))
            assert requests_total(families, route="/api/agents", status="401") == 7
            lag = projection_lag(client, bearer(token))
        assert lag and all(sample.value >= 0 for sample in lag)
    finally:
        for process in processes:
            process.stop()
