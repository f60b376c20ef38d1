"""ReloadAgents: make the agent streams say what the agents file says, at start and on request.

An agent new to the file is registered, a changed one reconfigured, one that left the file
deactivated; a file that changed nothing appends nothing. All of one reload's events commit
in one transaction, so a bad or concurrent reload never leaves half of a file applied.
"""

import logging
from dataclasses import dataclass, field

from application.agents import (
    AgentCatalogue,
    AgentSet,
    AgentsFileInvalid,
    AgentSource,
    enrolled_ids,
    load_agent,
)
from application.errors import ServiceUnavailable, StreamConflict
from application.ports import EventStore, PendingEvent
from domain.agent import (
    ROSTER_ID,
    Agent,
    AgentDefinition,
    AgentEnrolled,
    AgentEvent,
    AgentRegistered,
    InvalidAgent,
    agent_stream_id,
)

log = logging.getLogger(__name__)

# Each attempt re-reads the streams; only instances starting together with one file collide.
ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class AgentsReloaded:
    registered: list[str] = field(default_factory=list)
    reconfigured: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


def reload_agents(
    store: EventStore, source: AgentSource, catalogue: AgentCatalogue
) -> AgentsReloaded:
    """Read the source (AgentsFileInvalid if it is bad, before anything changes) and follow it."""
    return follow_agents(store, catalogue, source.read())


def follow_agents(
    store: EventStore, catalogue: AgentCatalogue, current: AgentSet
) -> AgentsReloaded:
    """Follow definitions the source already checked (see AgentSource.read)."""
    for _ in range(ATTEMPTS):
        pending, outcome = plan(store, current)
        if not pending:
            break
        try:
            store.append(pending)
            break
        except StreamConflict:
            continue  # another instance followed a file first; decide again on what it wrote
    else:
        raise ServiceUnavailable("Agents are being reloaded elsewhere", "try again shortly")
    catalogue.use(current)
    catalogue.refresh()
    if current.unavailable:
        # One line for all of them: a user with one provider's key set starts at once.
        log.warning(
            "agents not served by this process: %s",
            "; ".join(f"{agent_id} ({why})" for agent_id, why in current.unavailable.items()),
        )
    return outcome


def plan(store: EventStore, current: AgentSet) -> tuple[list[PendingEvent], AgentsReloaded]:
    outcome = AgentsReloaded()
    pending: list[PendingEvent] = []
    enrolled = enrolled_ids(store)
    for agent_id, definition in current.definitions.items():
        agent = load_agent(store, agent_id)
        event = following(agent, agent_id, definition)
        if event is None:
            continue
        if agent is None:
            # The roster's versions make two instances enrolling at once collide and retry.
            enrolled.append(agent_id)
            enrolment = AgentEnrolled(agent_id=agent_id)
            pending.append(PendingEvent(ROSTER_ID, len(enrolled), enrolment))
        version = 1 if agent is None else agent.version + 1
        pending.append(PendingEvent(agent_stream_id(agent_id), version, event))
        registered = isinstance(event, AgentRegistered)
        (outcome.registered if registered else outcome.reconfigured).append(agent_id)
    for agent_id in enrolled:
        agent = None if agent_id in current.definitions else load_agent(store, agent_id)
        left = None if agent is None else agent.leave_file()
        if agent is not None and left is not None:
            pending.append(PendingEvent(agent_stream_id(agent_id), agent.version + 1, left))
            outcome.deactivated.append(agent_id)
    return pending, outcome


def following(agent: Agent | None, agent_id: str, definition: AgentDefinition) -> AgentEvent | None:
    try:
        return (
            Agent.register(agent_id, definition) if agent is None else agent.follow_file(definition)
        )
    except InvalidAgent as error:  # a source that did not check its definitions
        raise AgentsFileInvalid(f"agent {agent_id!r}: {error}") from None
