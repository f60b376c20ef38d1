"""ReloadAgents: make the agent streams say what the agents file says, at start and on request.

An agent new to the file is registered, a changed one reconfigured, one that left the file
deactivated; a file that changed nothing appends nothing. All of one reload's events commit
in one transaction, so a bad or concurrent reload never leaves half of a file applied.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from application.agents import (
    AgentCatalogue,
    AgentSet,
    AgentsFileInvalid,
    AgentSource,
    enrolled_ids,
    load_agent,
)
from application.errors import ServiceUnavailable
from application.ports import EventStore
from application.repository import Repository
from application.retry import rerun_on_conflict_or
from domain.agent import ROSTER_ID, Agent, AgentEnrolled, AgentRegistered, InvalidAgent
from domain.aggregate import Aggregate

log = logging.getLogger(__name__)


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
    outcome = follow_file(store, current)
    catalogue.use(current)
    catalogue.refresh()
    if current.unavailable:
        # One line for all of them: a user with one provider's key set starts at once.
        log.warning(
            "agents not served by this process: %s",
            "; ".join(f"{agent_id} ({why})" for agent_id, why in current.unavailable.items()),
        )
    return outcome


def reloaded_elsewhere(*_: object) -> ServiceUnavailable:
    return ServiceUnavailable("Agents are being reloaded elsewhere", "try again shortly")


# Each run re-reads the streams; only instances starting together with one file collide.
@rerun_on_conflict_or(reloaded_elsewhere)
def follow_file(store: EventStore, current: AgentSet) -> AgentsReloaded:
    repository = Repository(store)
    # The roster's head before its ids: an enrolment stored between the two reads makes
    # ours collide (and the reload run again) rather than go unseen.
    roster = repository.head(ROSTER_ID)
    enrolled = enrolled_ids(store)
    outcome = AgentsReloaded()
    changed: list[Aggregate] = []
    for agent_id, definition in current.definitions.items():
        agent = load_agent(store, agent_id)
        with checked_by_file(agent_id):
            if agent is None:
                agent = Agent.register(agent_id, definition)
                # Two instances enrolling at once collide on the roster's version.
                roster.trigger(AgentEnrolled(agent_id=agent_id))
                enrolled.append(agent_id)
                outcome.registered.append(agent_id)
            else:
                event = agent.follow_file(definition)
                if event is None:
                    continue
                registered = isinstance(event, AgentRegistered)
                (outcome.registered if registered else outcome.reconfigured).append(agent_id)
        changed.append(agent)
    for agent_id in enrolled:
        agent = None if agent_id in current.definitions else load_agent(store, agent_id)
        if agent is not None and agent.leave_file() is not None:
            changed.append(agent)
            outcome.deactivated.append(agent_id)
    repository.save(roster, *changed)
    return outcome


@contextmanager
def checked_by_file(agent_id: str) -> Iterator[None]:
    try:
        yield
    except InvalidAgent as error:  # a source that did not check its definitions
        raise AgentsFileInvalid(f"agent {agent_id!r}: {error}") from None
