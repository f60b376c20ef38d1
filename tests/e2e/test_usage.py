"""Usage as facts and the priced ledger, over real server processes: every reply's tokens
as the provider reported them, shown alike by /api/chat/completions, the OpenAI door and
the ledger (GET /api/usage, /api/admin/usage), priced by the price file, re-priced by a
rebuild."""

import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.e2e.chat_fixtures import PROVIDERS, agent, agents_document
from tests.fake_provider import FakeProviderThread, Usage, reported_usage
from tests.support.builders import login, signed_in
from tests.support.server import ServerProcess, run_cli
from tests.support.sse import events

# Per million tokens: (input, output, cached input), for every test agent's model.
PRICES = {p: (Decimal(2 + i), Decimal(10 + i), Decimal(1 + i)) for i, p in enumerate(PROVIDERS)}

ASK = [{"role": "user", "content": "How much did this cost?"}]


def usage_agents(fake: FakeProviderThread) -> dict[str, list[dict[str, object]]]:
    document = agents_document(fake)
    quiet = agent("quiet", "openai", fake.endpoint("openai"), "gpt;usage=none")
    return {"agents": [*document["agents"], quiet]}


def price_file(path: Path, prices: dict[str, tuple[Decimal, Decimal, Decimal]]) -> str:
    entries = {
        provider: {
            f"{provider}-model": [
                {
                    "from": "2020-01-01",
                    "input": float(input_price),
                    "output": float(output_price),
                    "cachedInput": float(cached_price),
                }
            ]
        }
        for provider, (input_price, output_price, cached_price) in prices.items()
    }
    path.write_text(json.dumps({"currency": "EUR", "prices": entries}))
    return str(path)


@pytest.fixture(scope="module")
def usage_env(chat_env, fake, tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("usage")
    agents_file = folder / "agents.json"
    agents_file.write_text(json.dumps(usage_agents(fake)))
    return {
        **chat_env,
        "LLMCHAT_AGENTS_FILE": str(agents_file),
        "LLMCHAT_PRICES_FILE": price_file(folder / "prices.json", PRICES),
        "LLMCHAT_ADMIN_EMAIL": ADMIN_EMAIL,
        "LLMCHAT_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }


@pytest.fixture(scope="module")
def usage_server(usage_env) -> Iterator[ServerProcess]:
    process = ServerProcess(usage_env, args=())
    process.start()
    yield process
    process.stop()


@pytest.fixture
def http(usage_server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=usage_server.base_url, timeout=30) as client:
        yield client


@pytest.fixture
def admin(http) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(http, ADMIN_EMAIL, ADMIN_PASSWORD)['token']}"}


def expected(provider: str) -> dict[str, Any]:
    """The fake provider's report, as LLMChat's camelCase usage."""
    sent = reported_usage(provider)
    return {
        "promptTokens": sent.prompt,
        "completionTokens": sent.completion,
        "totalTokens": sent.total,
        "cachedTokens": sent.cached,
        "cacheWriteTokens": sent.cache_write,
        "reasoningTokens": sent.reasoning,
        "estimated": False,
    }


def chat(http: httpx.Client, auth: dict[str, str], agent_id: str, stream: bool) -> dict[str, Any]:
    """The usage the answer (or the stream's end frame) reports."""
    body = {"agentId": agent_id, "messages": ASK, "stream": stream}
    if not stream:
        answer = http.post("/api/chat/completions", headers=auth, json=body)
        assert answer.status_code == 200, answer.text
        usage: dict[str, Any] = answer.json()["data"]["usage"]
        return usage
    with http.stream("POST", "/api/chat/completions", headers=auth, json=body) as answer:
        assert answer.status_code == 200, answer.read()
        end = list(events(answer))[-1]
    assert end.event == "end", end
    streamed: dict[str, Any] = end.data["usage"]
    return streamed


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "blocking"])
@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_s_usage_is_reported_as_the_provider_reported_it(
    http, provider, stream
) -> None:
    _, auth = signed_in(http)

    assert chat(http, auth, provider, stream) == expected(provider)


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "blocking"])
def test_a_provider_that_reports_no_usage_is_estimated_and_marked(http, stream) -> None:
    _, auth = signed_in(http)

    usage = chat(http, auth, "quiet", stream)

    assert usage["estimated"] is True
    assert usage["promptTokens"] > 0 and usage["completionTokens"] > 0
    assert usage["totalTokens"] == usage["promptTokens"] + usage["completionTokens"]
    assert usage["cachedTokens"] == usage["reasoningTokens"] == 0


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "blocking"])
def test_the_openai_door_reports_the_same_figures_with_openai_s_details(http, stream) -> None:
    _, auth = signed_in(http)
    body: dict[str, Any] = {"model": "openai", "messages": ASK, "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}
        with http.stream("POST", "/v1/chat/completions", headers=auth, json=body) as answer:
            assert answer.status_code == 200, answer.read()
            lines = [line for line in answer.iter_lines() if line.startswith("data: {")]
        usage = json.loads(lines[-1].removeprefix("data: "))["usage"]
    else:
        answer = http.post("/v1/chat/completions", headers=auth, json=body)
        assert answer.status_code == 200, answer.text
        usage = answer.json()["usage"]

    sent = reported_usage("openai")
    assert usage == {
        "prompt_tokens": sent.prompt,
        "completion_tokens": sent.completion,
        "total_tokens": sent.total,
        "prompt_tokens_details": {"cached_tokens": sent.cached},
        "completion_tokens_details": {"reasoning_tokens": sent.reasoning},
    }


# --- the ledger ------------------------------------------------------------------------------


def cost_of(sent: Usage, prices: tuple[Decimal, Decimal, Decimal]) -> float:
    input_price, output_price, cached_price = prices
    uncached = sent.prompt - sent.cached
    spent = uncached * input_price + sent.cached * cached_price + sent.completion * output_price
    return float(spent / 1_000_000)


def ledger_rows(
    http: httpx.Client,
    auth: dict[str, str],
    done: Callable[[list[dict[str, Any]]], bool],
    path: str = "/api/usage",
    **query: Any,
) -> list[dict[str, Any]]:
    """The ledger's rows once `done` says the projection has applied what the test waits for."""
    deadline = time.monotonic() + 15
    while True:
        answer = http.get(path, headers=auth, params=query)
        assert answer.status_code == 200, answer.text
        items: list[dict[str, Any]] = answer.json()["data"]["items"]
        if done(items) or time.monotonic() > deadline:
            return items
        time.sleep(0.05)


def requests_in(count: int) -> Callable[[list[dict[str, Any]]], bool]:
    return lambda items: sum(item["requests"] for item in items) >= count


@pytest.mark.parametrize("provider", PROVIDERS)
def test_each_provider_s_usage_lands_in_the_ledger_as_reported_and_priced(http, provider):
    _, auth = signed_in(http)
    chat(http, auth, provider, stream=True)
    chat(http, auth, provider, stream=False)

    rows = ledger_rows(http, auth, requests_in(2), groupBy="model")

    sent = reported_usage(provider)
    assert rows == [
        {
            "key": f"{provider}-model",
            "requests": 2,
            "promptTokens": 2 * sent.prompt,
            "completionTokens": 2 * sent.completion,
            "cachedTokens": 2 * sent.cached,
            "totalTokens": 2 * sent.total,
            "cost": pytest.approx(2 * cost_of(sent, PRICES[provider]), rel=1e-12),
            "estimated": False,
        }
    ]


def test_a_price_change_and_a_rebuild_reprice_past_usage(http, usage_env, tmp_path):
    _, auth = signed_in(http)
    chat(http, auth, "anthropic", stream=True)
    [before] = ledger_rows(http, auth, requests_in(1), groupBy="agent")
    sent = reported_usage("anthropic")
    assert before["key"] == "anthropic"
    assert before["cost"] == pytest.approx(cost_of(sent, PRICES["anthropic"]), rel=1e-12)

    dearer = {**PRICES, "anthropic": (Decimal(30), Decimal(150), Decimal(3))}
    env = {**usage_env, "LLMCHAT_PRICES_FILE": price_file(tmp_path / "dearer.json", dearer)}
    rebuilt = run_cli(["projections", "rebuild", "usage"], env)
    assert rebuilt.returncode == 0, rebuilt.stderr

    [after] = ledger_rows(http, auth, lambda _: True, groupBy="agent")
    assert after == {**before, "cost": pytest.approx(cost_of(sent, dearer["anthropic"]))}
    assert after["cost"] > before["cost"]


def test_estimated_usage_is_marked_in_the_ledger(http):
    _, auth = signed_in(http)
    chat(http, auth, "quiet", stream=True)

    [row] = ledger_rows(http, auth, requests_in(1), groupBy="agent")

    assert row["key"] == "quiet" and row["estimated"] is True and row["promptTokens"] > 0
    assert row["cost"] == 0  # no price for its model


def test_the_admin_ledger_groups_everyone_by_user_api_key_and_day(http, admin):
    user, auth = signed_in(http)
    chat(http, auth, "openai", stream=False)
    key = http.post("/api/admin/api-keys", headers=admin, json={"name": "ledger"}).json()["data"]
    door = {"Authorization": f"Bearer {key['key']}"}
    body = {"model": "custom", "messages": ASK}
    assert http.post("/v1/chat/completions", headers=door, json=body).status_code == 200

    def has(key_id: str) -> Callable[[list[dict[str, Any]]], bool]:
        return lambda items: any(item["key"] == key_id for item in items)

    by_user = ledger_rows(
        http, admin, has(user["user"]["id"]), "/api/admin/usage", groupBy="user", limit=100
    )
    by_key = ledger_rows(
        http, admin, has(key["id"]), "/api/admin/usage", groupBy="apiKey", limit=100
    )
    today = datetime.now(UTC).date().isoformat()
    by_day = ledger_rows(
        http, admin, has(today), "/api/admin/usage", groupBy="day", **{"from": today, "to": today}
    )

    mine = next(row for row in by_user if row["key"] == user["user"]["id"])
    assert mine["requests"] == 1 and mine["promptTokens"] == reported_usage("openai").prompt
    assert user["user"]["id"] not in {row["key"] for row in by_key}
    [keyed] = [row for row in by_key if row["key"] == key["id"]]
    assert keyed["requests"] == 1 and keyed["cachedTokens"] == reported_usage("custom").cached
    assert [row["key"] for row in by_day] == [today]
    assert by_day[0]["requests"] >= 2

    csv = http.get(
        "/api/admin/usage",
        headers={**admin, "Accept": "text/csv"},
        params={"groupBy": "day", "from": today, "to": today},
    )
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    header, line = csv.text.splitlines()
    assert (
        header
        == "key,requests,promptTokens,completionTokens,cachedTokens,totalTokens,cost,estimated"
    )
    day = by_day[0]
    assert line.split(",")[:6] == [
        today,
        *(
            str(day[f])
            for f in ("requests", "promptTokens", "completionTokens", "cachedTokens", "totalTokens")
        ),
    ]

    stats = http.get("/api/admin/stats", headers=admin).json()["data"]["usage"]
    assert stats["requests"] >= 2 and stats["cost"] > 0
    assert stats["totalTokens"] == stats["promptTokens"] + stats["completionTokens"]
    assert stats["today"]["requests"] >= 2


def test_a_user_sees_only_their_own_usage_and_not_the_admin_ledger(http):
    _, auth = signed_in(http)
    _, other = signed_in(http)
    chat(http, other, "dify", stream=False)
    chat(http, auth, "openai", stream=False)

    rows = ledger_rows(http, auth, requests_in(1), groupBy="agent")

    assert [row["key"] for row in rows] == ["openai"]
    assert http.get("/api/admin/usage", headers=auth).status_code == 403


@pytest.mark.parametrize(
    ("path", "query", "field"),
    [
        ("/api/admin/usage", {"groupBy": "colour"}, "groupBy"),
        ("/api/usage", {"groupBy": "user"}, "groupBy"),
        ("/api/usage", {"groupBy": "apiKey"}, "groupBy"),
        ("/api/admin/usage", {"from": "2025-13-01"}, "from"),
        ("/api/admin/usage", {"to": "yesterday"}, "to"),
        ("/api/admin/usage", {"from": "2025-10-18T10:00:00Z"}, "from"),
        ("/api/admin/usage", {"from": "2025-10-18", "to": "2025-10-17"}, "to"),
        ("/api/admin/usage", {"page": "0"}, "page"),
        ("/api/admin/usage", {"page": "two"}, "page"),
        ("/api/usage", {"limit": "1000"}, "limit"),
    ],
)
def test_bad_queries_are_400_naming_the_field(http, admin, path, query, field):
    answer = http.get(path, headers=admin, params=query)

    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert field in json.dumps(body)


def test_metrics_count_tokens_and_cost_by_agent_and_model(http, admin):
    _, auth = signed_in(http)
    chat(http, auth, "openai", stream=True)

    text = http.get("/metrics", headers=admin).text

    labels = 'agent="openai",kind="cached",model="openai-model"'
    assert f"llmchat_tokens_total{{{labels}}}" in text
    assert 'llmchat_cost_total{agent="openai",model="openai-model"}' in text
