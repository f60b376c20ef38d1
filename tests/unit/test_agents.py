"""Agents: the file followed into events, administrators' overrides, the catalogue, the probe."""

import asyncio
import json
import math
from dataclasses import replace
from pathlib import Path

import msgspec
import pytest

from application.agent_reconfigure import ReconfigureAgent, reconfigure_agent
from application.agent_reload import AgentsReloaded, follow_agents, reload_agents
from application.agent_status import AgentHealth
from application.agents import AgentCatalogue, AgentSet, AgentsFileInvalid
from application.errors import NotFound, ValidationFailed
from application.provider import ProviderUnavailable
from domain.agent import (
    ROSTER_ID,
    AgentDeactivated,
    AgentEnrolled,
    AgentOverrides,
    AgentReconfigured,
    AgentRegistered,
    agent_stream_id,
)
from infrastructure.agents_file import DEMO_AGENT, AgentsFile, BuiltInAgents, key_reference
from tests.unit.fakes import FixedClock, in_memory_store

LITERAL_KEY = "sk-literal-secret-0123456789"
ENV_KEY = "sk-from-the-environment-9876"


def entry(agent_id="gpt", **changes):
    agent = {
        "id": agent_id,
        "name": f"Agent {agent_id}",
        "description": "Answers questions",
        "category": "general",
        "provider": "openai",
        "endpoint": "https://api.openai.example/v1",
        "apiKey": LITERAL_KEY,
        "model": "gpt-4o",
        "capabilities": ["chat"],
        "config": {"temperature": 0.7, "maxTokens": 2000},
    }
    agent.update(changes)
    return agent


class Setup:
    """One store and catalogue, and an agents file the test rewrites between reloads."""

    def __init__(self, tmp_path, environ=None):
        self.path = tmp_path / "agents.json"
        self.environ = {"TEST_AGENT_KEY": ENV_KEY} if environ is None else environ
        self.store = in_memory_store()
        self.catalogue = AgentCatalogue(self.store)

    def write(self, *entries):
        self.path.write_text(json.dumps({"agents": list(entries)}))

    def reload(self, *entries) -> AgentsReloaded:
        if entries:
            self.write(*entries)
        source = AgentsFile(self.path, self.environ)
        return reload_agents(self.store, source, self.catalogue)

    def events(self):
        return [r.event for r in self.store.read_all(0, 10_000)]

    def agent_events(self, agent_id):
        return [r.event for r in self.store.read(agent_stream_id(agent_id))]

    def reconfigure(self, agent_id, **changes):
        command = ReconfigureAgent(agent_id, AgentOverrides(**changes))
        return reconfigure_agent(self.store, self.catalogue, command)


@pytest.fixture
def setup(tmp_path):
    return Setup(tmp_path)


def test_a_file_registers_each_agent_once_and_an_unchanged_reload_appends_nothing(setup):
    outcome = setup.reload(entry("gpt"), entry("helper", provider="demo", endpoint=""))
    assert outcome == AgentsReloaded(registered=["gpt", "helper"])
    events = setup.events()
    assert [type(e) for e in events].count(AgentRegistered) == 2
    assert [e.agent_id for e in events if isinstance(e, AgentEnrolled)] == ["gpt", "helper"]
    assert setup.store.read(ROSTER_ID)[-1].version == 2

    assert setup.reload() == AgentsReloaded()
    assert len(setup.events()) == len(events)
    assert [a.id for a in setup.catalogue.listed()] == ["gpt", "helper"]


def test_with_no_agents_file_there_is_exactly_the_demo_agent():
    store = in_memory_store()
    catalogue = AgentCatalogue(store)
    reload_agents(store, BuiltInAgents(), catalogue)
    [demo] = catalogue.listed()
    assert demo.id == "demo" and demo.settings.provider == "demo"
    assert "demo" in demo.settings.name.lower()
    assert catalogue.api_key("demo") == ""
    profile = catalogue.find("demo")
    assert profile is not None and profile.status == "active"


def test_the_agents_in_a_file_replace_the_demo_of_a_start_without_one(setup):
    reload_agents(setup.store, BuiltInAgents(), setup.catalogue)
    outcome = setup.reload(entry("gpt"))
    assert outcome == AgentsReloaded(registered=["gpt"], deactivated=["demo"])
    assert [a.id for a in setup.catalogue.listed()] == ["gpt"]


def test_a_changed_field_is_one_reconfiguration_that_names_it(setup):
    setup.reload(entry("gpt"), entry("other"))
    outcome = setup.reload(entry("gpt", model="gpt-4.1"), entry("other"))
    assert outcome == AgentsReloaded(reconfigured=["gpt"])
    last = setup.agent_events("gpt")[-1]
    assert isinstance(last, AgentReconfigured)
    assert (last.source, last.changed) == ("file", ("model",))
    profile = setup.catalogue.find("gpt")
    assert profile is not None and profile.model == "gpt-4.1"


def test_a_changed_sampling_setting_in_config_is_a_change(setup):
    setup.reload(entry("gpt"))
    outcome = setup.reload(entry("gpt", config={"temperature": 0.2, "maxTokens": 2000}))
    assert outcome.reconfigured == ["gpt"]
    profile = setup.catalogue.find("gpt")
    assert profile is not None and profile.temperature == 0.2 and profile.max_tokens == 2000


def test_a_changed_literal_key_is_a_change_but_only_its_fingerprint_is_stored(setup):
    setup.reload(entry("gpt"))
    assert setup.reload(entry("gpt", apiKey="sk-another-secret-555")).reconfigured == ["gpt"]
    assert setup.catalogue.api_key("gpt") == "sk-another-secret-555"
    stored = msgspec.json.encode(setup.events()).decode()
    assert LITERAL_KEY not in stored and "sk-another-secret-555" not in stored
    assert key_reference(LITERAL_KEY) in stored
    assert key_reference(LITERAL_KEY) != key_reference("sk-another-secret-555")


def test_an_env_key_is_stored_as_its_reference_and_resolved_in_memory(tmp_path):
    setup = Setup(tmp_path, environ={"TEST_AGENT_KEY": ENV_KEY})
    setup.reload(entry("gpt", apiKey="env:TEST_AGENT_KEY"))
    assert setup.catalogue.api_key("gpt") == ENV_KEY
    stored = msgspec.json.encode(setup.events()).decode()
    assert ENV_KEY not in stored and "env:TEST_AGENT_KEY" in stored

    # The reference is what the file says; a new value behind it changes no event.
    setup.environ = {"TEST_AGENT_KEY": "sk-rotated"}
    assert setup.reload() == AgentsReloaded()
    assert setup.catalogue.api_key("gpt") == "sk-rotated"


def test_an_agent_gone_from_the_file_is_deactivated_once_and_registered_again_on_return(setup):
    setup.reload(entry("gpt"), entry("old"))
    assert setup.reload(entry("gpt")) == AgentsReloaded(deactivated=["old"])
    assert isinstance(setup.agent_events("old")[-1], AgentDeactivated)
    assert setup.catalogue.get("old") is None
    assert [a.id for a in setup.catalogue.listed()] == ["gpt"]
    profile = setup.catalogue.find("old")
    assert profile is not None and profile.status == "inactive"
    assert setup.reload() == AgentsReloaded()

    assert setup.reload(entry("gpt"), entry("old")) == AgentsReloaded(registered=["old"])
    assert [e.agent_id for e in setup.events() if isinstance(e, AgentEnrolled)] == ["gpt", "old"]
    agent = setup.catalogue.get("old")
    assert agent is not None and agent.status == "active"


def test_a_file_can_mark_an_agent_inactive(setup):
    setup.reload(entry("gpt", status="inactive"))
    agent = setup.catalogue.get("gpt")
    assert agent is not None and agent.status == "inactive"


def test_admin_overrides_survive_a_reload_of_an_unchanged_file(setup):
    setup.reload(entry("gpt"))
    setup.reconfigure("gpt", name="Renamed", temperature=1.5, max_tokens=10)
    last = setup.agent_events("gpt")[-1]
    assert isinstance(last, AgentReconfigured) and last.source == "admin"
    assert set(last.changed) == {"name", "temperature", "max_tokens"}

    assert setup.reload() == AgentsReloaded()
    setup.catalogue.refresh()
    settings = setup.catalogue.get("gpt").settings
    assert (settings.name, settings.temperature, settings.max_tokens) == ("Renamed", 1.5, 10)


def test_the_file_wins_for_a_field_it_changes_and_only_for_that_field(setup):
    setup.reload(entry("gpt"))
    setup.reconfigure("gpt", name="Renamed", model="admin-model")
    setup.reload(entry("gpt", model="file-model"))
    settings = setup.catalogue.get("gpt").settings
    assert (settings.name, settings.model) == ("Renamed", "file-model")
    # And the dropped override does not come back on a later reload.
    assert setup.reload() == AgentsReloaded()
    assert setup.catalogue.get("gpt").settings.model == "file-model"


def test_overrides_outlive_the_agent_leaving_and_rejoining_an_unchanged_file(setup):
    setup.reload(entry("gpt"), entry("other"))
    setup.reconfigure("gpt", name="Renamed")
    setup.reload(entry("other"))
    setup.reload(entry("gpt"), entry("other"))
    assert setup.catalogue.get("gpt").settings.name == "Renamed"


def test_a_reconfiguration_that_changes_nothing_appends_nothing(setup):
    setup.reload(entry("gpt"))
    before = len(setup.events())
    setup.reconfigure("gpt")
    setup.reconfigure("gpt", model="gpt-4o", temperature=0.7)  # the file's own values
    assert len(setup.events()) == before


def test_setting_the_file_value_again_removes_an_override(setup):
    setup.reload(entry("gpt"))
    setup.reconfigure("gpt", model="other-model")
    agent = setup.reconfigure("gpt", model="gpt-4o")
    assert agent.overrides == AgentOverrides()
    # With no override left, the file's next model is taken as is.
    setup.reload(entry("gpt", model="gpt-5"))
    assert setup.catalogue.get("gpt").settings.model == "gpt-5"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"temperature": -0.01}, "temperature"),
        ({"temperature": 2.01}, "temperature"),
        ({"temperature": math.nan}, "temperature"),
        ({"max_tokens": 0}, "maxTokens"),
        ({"max_tokens": 200_001}, "maxTokens"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"model": ""}, "model"),
        ({"description": "x" * 2001}, "description"),
    ],
)
def test_a_reconfiguration_breaking_a_rule_is_refused_and_changes_nothing(setup, changes, field):
    setup.reload(entry("gpt"))
    before = len(setup.events())
    with pytest.raises(ValidationFailed) as refused:
        setup.reconfigure("gpt", **changes)
    assert refused.value.details.startswith(field)
    assert len(setup.events()) == before


@pytest.mark.parametrize(
    "changes",
    [
        {"temperature": 0.0},
        {"temperature": 2.0},
        {"max_tokens": 1},
        {"max_tokens": 200_000},
        {"name": "x" * 100},
        {"description": ""},
    ],
)
def test_values_on_the_edge_of_a_rule_are_accepted(setup, changes):
    setup.reload(entry("gpt", config={}))
    agent = setup.reconfigure("gpt", **changes)
    [(field, value)] = changes.items()
    assert getattr(agent.settings, field) == value


def test_reconfiguring_an_unknown_or_deactivated_agent_is_not_found(setup):
    setup.reload(entry("gpt"), entry("old"))
    setup.reload(entry("gpt"))
    for agent_id in ("nobody", "old"):
        with pytest.raises(NotFound):
            setup.reconfigure(agent_id, name="X")


BAD_FILES = {
    "not json": ("{not json", "malformed"),
    "unknown provider": (json.dumps({"agents": [entry(provider="skynet")]}), "provider"),
    "missing field": (
        json.dumps({"agents": [{k: v for k, v in entry().items() if k != "model"}]}),
        "model",
    ),
    "env: naming no variable": (json.dumps({"agents": [entry(apiKey="env:")]}), "names no"),
    "duplicate id": (json.dumps({"agents": [entry(), entry()]}), "more than once"),
    "bad id": (json.dumps({"agents": [entry("has space")]}), "id"),
    "temperature out of range": (
        json.dumps({"agents": [entry(config={"temperature": 3})]}),
        "temperature",
    ),
    "no http endpoint": (json.dumps({"agents": [entry(endpoint="api.example")]}), "endpoint"),
    "unknown field": (json.dumps({"agents": [entry(apikey="typo")]}), "apikey"),
    "not a list": (json.dumps({"agents": {"gpt": entry()}}), "agents"),
    "a fallback not in the file": (
        json.dumps({"agents": [entry("gpt", fallbacks=["elsewhere"])]}),
        "'elsewhere' is no agent of this file",
    ),
    "its own fallback": (
        json.dumps({"agents": [entry("gpt", fallbacks=["gpt"])]}),
        "its own fallback",
    ),
    "a fallback twice": (
        json.dumps({"agents": [entry("gpt", fallbacks=["b", "b"]), entry("b")]}),
        "more than once",
    ),
    "too many fallbacks": (
        json.dumps(
            {"agents": [entry("gpt", fallbacks=["b", "c", "d", "e"])] + [entry(x) for x in "bcde"]}
        ),
        "at most 3",
    ),
    "a fallback cycle": (
        json.dumps(
            {
                "agents": [
                    entry("a", fallbacks=["b"]),
                    entry("b", fallbacks=["c"]),
                    entry("c", fallbacks=["a"]),
                ]
            }
        ),
        "a cycle (a -> b -> c -> a)",
    ),
    "a fallback that is no id": (
        json.dumps({"agents": [entry(fallbacks=["a b"])]}),
        "is not an agent id",
    ),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_a_bad_file_is_refused_naming_the_problem_and_changes_nothing(setup, name):
    setup.reload(entry("gpt"), entry("other"))
    before = setup.events()
    text, problem = BAD_FILES[name]
    setup.path.write_text(text)
    with pytest.raises(AgentsFileInvalid) as refused:
        setup.reload()
    assert problem in str(refused.value) and str(setup.path) in str(refused.value)
    assert LITERAL_KEY not in str(refused.value)
    assert setup.events() == before
    assert [a.id for a in setup.catalogue.listed()] == ["gpt", "other"]
    assert setup.catalogue.api_key("gpt") == LITERAL_KEY


def test_fallbacks_are_kept_in_order_and_a_changed_list_is_a_reconfiguration(setup):
    agents = [entry("b"), entry("c", fallbacks=["b"]), entry("a", fallbacks=["c", "b"])]
    setup.reload(*agents)
    assert setup.catalogue.find("a").fallbacks == ("c", "b")
    assert setup.catalogue.find("b").fallbacks == ()
    agents[2] = entry("a", fallbacks=["b"])
    assert setup.reload(*agents) == AgentsReloaded(reconfigured=["a"])
    assert setup.agent_events("a")[-1].changed == ("fallbacks",)
    assert setup.catalogue.find("a").fallbacks == ("b",)


def test_an_agent_registered_before_fallbacks_existed_replays_with_none():
    stored = msgspec.json.encode(AgentRegistered(agent_id="old", definition=DEMO_AGENT))
    without = msgspec.json.decode(stored)
    del without["definition"]["fallbacks"]
    event = msgspec.json.decode(msgspec.json.encode(without), type=AgentRegistered)
    assert event.definition.fallbacks == ()


def test_an_unreadable_file_is_refused(setup):
    with pytest.raises(AgentsFileInvalid, match="cannot read"):
        setup.reload()  # never written


def test_the_catalogue_follows_changes_made_by_another_process_when_refreshed(setup):
    setup.reload(entry("gpt"))
    elsewhere = AgentCatalogue(setup.store)
    elsewhere.refresh()
    setup.reconfigure("gpt", name="Renamed")
    stale = elsewhere.find("gpt")
    elsewhere.refresh()
    fresh = elsewhere.find("gpt")
    assert stale is not None and stale.name == "Agent gpt"
    assert fresh is not None and fresh.name == "Renamed"


class RacingStore:
    """Lets another instance follow the same file just before this one's first append."""

    def __init__(self, store, other):
        self.store, self.other, self.raced = store, other, False

    def __getattr__(self, name):
        return getattr(self.store, name)

    def append(self, events):
        if not self.raced:
            self.raced = True
            self.other()
        return self.store.append(events)


def test_two_instances_following_one_file_at_once_register_each_agent_once(setup):
    setup.write(entry("gpt"), entry("other"))
    current = AgentsFile(setup.path, setup.environ).read()
    racing = RacingStore(
        setup.store, lambda: follow_agents(setup.store, AgentCatalogue(setup.store), current)
    )
    assert follow_agents(racing, setup.catalogue, current) == AgentsReloaded()
    registrations = [e for e in setup.events() if isinstance(e, AgentRegistered)]
    assert sorted(e.agent_id for e in registrations) == ["gpt", "other"]
    assert [a.id for a in setup.catalogue.listed()] == ["gpt", "other"]


def test_a_reconfiguration_racing_a_reload_is_decided_again(setup):
    setup.reload(entry("gpt"))
    setup.write(entry("gpt", description="New text"))
    racing = RacingStore(setup.store, setup.reload)
    command = ReconfigureAgent("gpt", AgentOverrides(name="Renamed"))
    agent = reconfigure_agent(racing, setup.catalogue, command)
    assert (agent.settings.name, agent.settings.description) == ("Renamed", "New text")


def test_listing_filters_by_category_and_provider_in_registration_order(setup):
    setup.reload(
        entry("a", category="code"),
        entry("b", category="writing", provider="anthropic"),
        entry("c", category="code", provider="anthropic"),
    )
    assert [a.id for a in setup.catalogue.listed(category="code")] == ["a", "c"]
    assert [a.id for a in setup.catalogue.listed(provider="anthropic")] == ["b", "c"]
    assert [a.id for a in setup.catalogue.listed("code", "anthropic")] == ["c"]
    assert setup.catalogue.listed(category="nothing") == []


class CountingProvider:
    def __init__(self, failure=None, delay=0.0):
        self.requests = []
        self.failure = failure
        self.delay = delay

    async def probe(self, request):
        self.requests.append(request)
        await asyncio.sleep(self.delay)
        if self.failure is not None:
            raise self.failure
        return 0.0123


def health_for(setup, provider, **options):
    return AgentHealth(setup.catalogue, {"openai": provider}, FixedClock(), **options)


async def test_a_status_probe_asks_the_provider_with_the_agents_key_and_is_cached(setup):
    setup.reload(entry("gpt"))
    provider = CountingProvider()
    health = health_for(setup, provider)
    first, second = await asyncio.gather(health.check("gpt"), health.check("gpt"))
    assert first.reachable and first.latency_ms == 12.3 and first.error is None
    assert second == first and len(provider.requests) == 1
    request = provider.requests[0]
    assert (request.endpoint, request.api_key) == ("https://api.openai.example/v1", LITERAL_KEY)


async def test_a_status_probe_is_repeated_once_the_cache_expires_or_the_endpoint_changes(setup):
    setup.reload(entry("gpt"))
    provider = CountingProvider()
    await health_for(setup, provider, cache_seconds=0.0).check("gpt")
    await health_for(setup, provider, cache_seconds=0.0).check("gpt")
    assert len(provider.requests) == 2

    health = health_for(setup, provider)
    await health.check("gpt")
    setup.reload(entry("gpt", endpoint="https://elsewhere.example/v1"))
    await health.check("gpt")
    assert provider.requests[-1].endpoint == "https://elsewhere.example/v1"


async def test_an_unreachable_provider_is_reported_with_a_short_error_and_no_key(setup):
    setup.reload(entry("gpt"))
    failure = ProviderUnavailable("openai", f"refused {LITERAL_KEY} " + "x" * 500)
    status = await health_for(setup, CountingProvider(failure)).check("gpt")
    assert not status.reachable and status.latency_ms is None
    assert status.error is not None and len(status.error) <= 200
    assert LITERAL_KEY not in status.error and "refused" in status.error


async def test_a_provider_too_slow_to_answer_counts_as_unreachable(setup):
    setup.reload(entry("gpt"))
    health = health_for(setup, CountingProvider(delay=1.0), probe_limit=0.05)
    status = await health.check("gpt")
    assert not status.reachable and "no answer" in (status.error or "")


async def test_the_status_of_an_unknown_agent_is_not_found(setup):
    setup.reload(entry("gpt"))
    with pytest.raises(NotFound):
        await health_for(setup, CountingProvider()).check("nobody")


def test_the_shipped_example_file_is_a_valid_agents_file():
    example = Path(__file__).resolve().parents[2] / "config" / "agents.example.json"
    variables = ("FASTGPT_APP_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DIFY_APP_KEY")
    current = AgentsFile(example, dict.fromkeys(variables, "sk-example")).read()
    assert "demo" in current.definitions
    assert {d.provider for d in current.definitions.values()} == {
        "demo",
        "fastgpt",
        "openai",
        "anthropic",
        "dify",
        "custom",
    }


def test_a_definition_no_source_checked_is_still_refused_before_anything_is_written():
    class UncheckedSource:
        def read(self):
            unknown = replace(DEMO_AGENT, provider="skynet")
            return AgentSet({"x": unknown}, {"x": ""})

    store = in_memory_store()
    with pytest.raises(AgentsFileInvalid, match="skynet"):
        reload_agents(store, UncheckedSource(), AgentCatalogue(store))
    assert store.read_all(0, 10) == []


async def test_an_agent_whose_key_is_unset_here_is_inactive_with_the_reason(setup):
    outcome = setup.reload(entry("gpt"), entry("claude", apiKey="env:NOT_SET_ANYWHERE"))
    assert outcome.registered == ["gpt", "claude"]
    served, unserved = setup.catalogue.find("gpt"), setup.catalogue.find("claude")
    assert served is not None and served.status == "active"
    assert unserved is not None and unserved.status == "inactive"
    assert (
        setup.catalogue.unavailable("claude") == "environment variable NOT_SET_ANYWHERE is not set"
    )
    # A fact of this process only: the stored agent stays as the file defines it.
    assert "inactive" not in msgspec.json.encode(setup.agent_events("claude")).decode()
    provider = CountingProvider()
    status = await health_for(setup, provider).check("claude")
    assert not status.reachable and "NOT_SET_ANYWHERE" in (status.error or "")
    assert provider.requests == [], "no provider is asked without its key"


def test_the_shipped_example_file_starts_with_one_key_set_and_names_every_missing_one(caplog):
    example = Path(__file__).resolve().parents[2] / "config" / "agents.example.json"
    store = in_memory_store()
    catalogue = AgentCatalogue(store)
    with caplog.at_level("WARNING"):
        reload_agents(store, AgentsFile(example, {"OPENAI_API_KEY": "sk-example"}), catalogue)
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    for variable in ("FASTGPT_APP_KEY", "ANTHROPIC_API_KEY", "DIFY_APP_KEY"):
        assert variable in warning
    assert "OPENAI_API_KEY" not in warning
    assert catalogue.unavailable("gpt-4o") is None
    assert [a.id for a in catalogue.listed() if catalogue.status_of(a) == "active"] == [
        "demo",
        "gpt-4o",
        "local-llama",
    ]


class CountingReads:
    """The store, counting the agent streams read whole (the roster is read after a version)."""

    def __init__(self, store):
        self.store, self.whole_reads = store, 0

    def __getattr__(self, name):
        return getattr(self.store, name)

    def read(self, stream_id, after=0):
        if stream_id != ROSTER_ID:
            self.whole_reads += 1
        return self.store.read(stream_id, after)


def test_another_process_s_catalogue_follows_changes_reading_only_the_agents_that_moved(setup):
    setup.reload(entry("gpt"), entry("other"))
    elsewhere_store = CountingReads(setup.store)
    elsewhere = AgentCatalogue(elsewhere_store)
    elsewhere.refresh()
    assert [a.id for a in elsewhere.listed()] == ["gpt", "other"]

    setup.reload(entry("gpt", model="gpt-4.1"), entry("other"), entry("third"))
    elsewhere_store.whole_reads = 0
    elsewhere.refresh()
    # gpt moved and third is new; other is unchanged and is not read again.
    assert elsewhere_store.whole_reads == 2
    assert [a.id for a in elsewhere.listed()] == ["gpt", "other", "third"]
    profile = elsewhere.find("gpt")
    assert profile is not None and profile.model == "gpt-4.1"

    elsewhere_store.whole_reads = 0
    elsewhere.refresh()
    assert elsewhere_store.whole_reads == 0
