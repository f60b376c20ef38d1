"""/api/agents: list, read, reconfigure (admin), provider status, reload the agents file (admin).

Answers show what an agent is and how it is configured; never its API key, its key reference
or its endpoint.
"""

from typing import Annotated, Any

import msgspec
from anyio import to_thread
from litestar import Controller, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from api.dependencies import AgentHealthDep, AgentsDep, AgentSourceDep, CallerDep, StoreDep
from api.envelope import paginated, success
from application.agent_reconfigure import ReconfigureAgent, reconfigure_agent
from application.agent_reload import AgentsReloaded, reload_agents
from application.agent_status import AgentStatus
from application.agents import AgentCatalogue
from application.errors import NotFound
from application.paging import MAX_PAGE
from domain.agent import Agent, AgentOverrides
from domain.timestamps import iso_millis

# How stale a listing may be with respect to changes made on other instances.
REFRESH_SECONDS = 2.0
MAX_LIMIT = 100


class StrictWire(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    """A field we do not know is refused, not ignored: a typo must not look like success."""


class AgentConfigBody(StrictWire):
    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None


class ReconfigureBody(StrictWire):
    name: str | None = None
    description: str | None = None
    config: AgentConfigBody | None = None

    def overrides(self) -> AgentOverrides:
        config = self.config or AgentConfigBody()
        return AgentOverrides(
            name=self.name,
            description=self.description,
            model=config.model,
            temperature=config.temperature,
            max_tokens=config.max_tokens,
        )


def agent_view(agent: Agent, status: str) -> dict[str, Any]:
    settings = agent.settings
    return {
        "id": agent.id,
        "name": settings.name,
        "description": settings.description,
        "category": settings.category,
        "provider": settings.provider,
        "avatar": settings.avatar,
        "status": status,
        "capabilities": list(settings.capabilities),
        "config": {
            "model": settings.model,
            "temperature": settings.temperature,
            "maxTokens": settings.max_tokens,
        },
    }


def status_view(status: AgentStatus, agent_status: str) -> dict[str, Any]:
    return {
        "id": status.agent_id,
        "provider": status.provider,
        "status": agent_status,
        "reachable": status.reachable,
        "latency": status.latency_ms,
        "checkedAt": iso_millis(status.checked_at),
        "error": status.error,
    }


def reload_view(outcome: AgentsReloaded) -> dict[str, Any]:
    return {
        "registered": outcome.registered,
        "reconfigured": outcome.reconfigured,
        "deactivated": outcome.deactivated,
    }


async def fresh_agent(agents: AgentCatalogue, agent_id: str) -> Agent:
    await to_thread.run_sync(agents.refresh_if_older_than, REFRESH_SECONDS)
    agent = agents.get(agent_id)
    if agent is None:
        raise NotFound("Agent not found", f"no agent with id {agent_id!r}")
    return agent


class AgentsController(Controller):
    path = "/api/agents"

    @get("/")
    async def list_agents(
        self,
        agents: AgentsDep,
        principal: CallerDep,
        page: Annotated[int, QueryParameter(ge=1, le=MAX_PAGE)] = 1,
        limit: Annotated[int, QueryParameter(ge=1, le=MAX_LIMIT)] = 20,
        category: FromQuery[str | None] = None,
        provider: FromQuery[str | None] = None,
    ) -> dict[str, Any]:
        await to_thread.run_sync(agents.refresh_if_older_than, REFRESH_SECONDS)
        listed = agents.listed(category, provider)
        shown = listed[(page - 1) * limit : page * limit]
        views = [agent_view(a, agents.status_of(a)) for a in shown]
        return paginated(views, page, limit, len(listed))

    @get("/{agent_id:str}")
    async def get_agent(
        self,
        agent_id: FromPath[str],
        agents: AgentsDep,
        principal: CallerDep,
    ) -> dict[str, Any]:
        agent = await fresh_agent(agents, agent_id)
        return success(agent_view(agent, agents.status_of(agent)))

    @put("/{agent_id:str}")
    async def reconfigure(
        self,
        agent_id: FromPath[str],
        data: JSONBody[ReconfigureBody],
        store: StoreDep,
        agents: AgentsDep,
        admin: CallerDep,
    ) -> dict[str, Any]:
        command = ReconfigureAgent(agent_id, data.overrides())
        agent = await to_thread.run_sync(reconfigure_agent, store, agents, command)
        return success(agent_view(agent, agents.status_of(agent)), "Agent updated")

    @get("/{agent_id:str}/status")
    async def status(
        self,
        agent_id: FromPath[str],
        agents: AgentsDep,
        agent_health: AgentHealthDep,
        principal: CallerDep,
    ) -> dict[str, Any]:
        agent = await fresh_agent(agents, agent_id)
        status = await agent_health.check(agent_id)
        return success(status_view(status, agents.status_of(agent)))

    @post("/reload", status_code=200)
    async def reload(
        self, store: StoreDep, agent_source: AgentSourceDep, agents: AgentsDep, admin: CallerDep
    ) -> dict[str, Any]:
        outcome = await to_thread.run_sync(reload_agents, store, agent_source, agents)
        return success(reload_view(outcome), "Agents reloaded")
