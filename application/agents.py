"""Agents as the rest of the application sees them: the directory chat calls providers through,
the port the agent definitions come from, and the in-process catalogue the routes read.

The catalogue is the write side's own view: the Agent aggregates themselves, held in memory,
because chat must find an agent the moment the start step enrolled it (a read model trails
the log). It is built from the agent streams at start, updated by the commands this process
runs, and follows other processes by reading only what changed: the roster after its known
version, and an agent's stream only when its version moved. The `llmchat_agents` table is
the read model, for analytics jobs (docs/read-models.md); no route depends on its lag.
"""

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from application.errors import ValidationFailed
from application.ports import EventStore
from application.repository import Repository
from domain.agent import ROSTER_ID, Agent, AgentDefinition, AgentEnrolled, agent_stream_id


class AgentProfile(msgspec.Struct, frozen=True):
    """What chat needs to call a provider."""

    id: str
    name: str
    provider: str
    endpoint: str
    model: str
    status: str  # "active" | "inactive"
    temperature: float | None
    max_tokens: int | None
    fallbacks: tuple[str, ...] = ()


class AgentDirectory(Protocol):
    def find(self, agent_id: str) -> AgentProfile | None: ...  # None if unknown

    def api_key(self, agent_id: str) -> str: ...  # resolved secret ("" for demo)

    def unavailable(self, agent_id: str) -> str | None: ...  # why this process cannot serve it


class AgentsFileInvalid(ValidationFailed):
    """The agents file cannot be used; `details` names the problem (never a key)."""

    def __init__(self, problem: str) -> None:
        super().__init__("Invalid agents file", problem)

    def __str__(self) -> str:
        return f"{self.message}: {self.details}"


@dataclass(frozen=True, slots=True)
class AgentSet:
    """What the source of agent definitions says now, in its order, with each resolved key."""

    definitions: Mapping[str, AgentDefinition]
    keys: Mapping[str, str]
    # Agents this process cannot serve, and why (a key's variable unset in its environment):
    # a fact of one process, not of the file, so it never becomes an event.
    unavailable: Mapping[str, str] = field(default_factory=dict)


class AgentSource(Protocol):
    def read(self) -> AgentSet:
        """Raise AgentsFileInvalid naming the problem if the definitions cannot be used."""
        ...


def load_agent(store: EventStore, agent_id: str) -> Agent | None:
    return Repository(store).get(Agent, agent_stream_id(agent_id))


def enrolled_ids(store: EventStore) -> list[str]:
    """Every agent id ever registered, in the order they were first registered."""
    return [r.event.agent_id for r in store.read(ROSTER_ID) if isinstance(r.event, AgentEnrolled)]


def profile_of(agent: Agent, status: str | None = None) -> AgentProfile:
    settings = agent.settings
    return AgentProfile(
        id=agent.id,
        name=settings.name,
        provider=settings.provider,
        endpoint=settings.endpoint,
        model=settings.model,
        status=status or agent.status,
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        fallbacks=settings.fallbacks,
    )


class AgentCatalogue:
    """Every agent this process knows, and the keys its own agents file resolved.

    Readers never wait on I/O: refreshes build a new mapping and swap it in whole.
    """

    def __init__(self, store: EventStore) -> None:
        self._store = store
        self._agents: Mapping[str, Agent] = {}
        self._keys: Mapping[str, str] = {}
        self._unavailable: Mapping[str, str] = {}
        self._refreshed_at = float("-inf")
        self._refreshing = threading.Lock()
        self._roster_version = 0
        self._ids: list[str] = []

    def refresh(self) -> None:
        """Take in what other processes changed: agents enrolled since the roster's version
        last seen, and agents whose stream has moved past the version held here."""
        with self._refreshing:
            started = time.monotonic()
            enrolled = self._store.read(ROSTER_ID, after=self._roster_version)
            if enrolled:
                self._roster_version = enrolled[-1].version
            new = [r.event.agent_id for r in enrolled if isinstance(r.event, AgentEnrolled)]
            self._ids = list(dict.fromkeys([*self._ids, *new]))
            agents = dict(self._agents)
            for agent_id in self._ids:
                held = agents.get(agent_id)
                if held is not None and self._store.version(held.stream_id) == held.version:
                    continue
                agent = load_agent(self._store, agent_id)
                if agent is not None:
                    agents[agent_id] = agent
            # The first registration order, whatever order the changes came in; an agent
            # this process just enrolled is kept even before its roster entry is read.
            ordered = {i: agents[i] for i in self._ids if i in agents}
            self._agents = {**ordered, **agents}
            self._refreshed_at = started

    def refresh_if_older_than(self, seconds: float) -> None:
        if time.monotonic() - self._refreshed_at < seconds:
            return
        # One refresh at a time is enough; the others serve what is there meanwhile.
        if self._refreshing.locked():
            return
        self.refresh()

    def remember(self, agent: Agent) -> None:
        """Take in an agent a command on this process just changed."""
        self._agents = {**self._agents, agent.id: agent}

    def use(self, current: AgentSet) -> None:
        """Take the keys this process's agents file resolved, and the agents it cannot serve."""
        self._keys = dict(current.keys)
        self._unavailable = dict(current.unavailable)

    def unavailable(self, agent_id: str) -> str | None:
        """Why this process cannot serve the agent (its key is not set here), or None."""
        return self._unavailable.get(agent_id)

    def status_of(self, agent: Agent) -> str:
        return "inactive" if agent.id in self._unavailable else agent.status

    def find(self, agent_id: str) -> AgentProfile | None:
        agent = self._agents.get(agent_id)
        return None if agent is None else profile_of(agent, self.status_of(agent))

    def api_key(self, agent_id: str) -> str:
        """The key this process's agents file resolved; "" for none or an unknown agent."""
        return self._keys.get(agent_id, "")

    def get(self, agent_id: str) -> Agent | None:
        """An agent the agents file currently defines (whatever its status)."""
        agent = self._agents.get(agent_id)
        return agent if agent is not None and agent.in_file else None

    def listed(self, category: str | None = None, provider: str | None = None) -> list[Agent]:
        """The agents the file currently defines, in the order they were first registered."""
        return [
            agent
            for agent in self._agents.values()
            if agent.in_file
            and (category is None or agent.settings.category == category)
            and (provider is None or agent.settings.provider == provider)
        ]
