"""`client.agents`: list, get, update (admin), status, reload (admin)."""

from __future__ import annotations

from llmchat import routes
from llmchat.async_transport import AsyncTransport
from llmchat.models import Agent, AgentsReloaded, AgentStatus, Page
from llmchat.sync_transport import SyncTransport


class Agents:
    def __init__(self, transport: SyncTransport) -> None:
        self._transport = transport

    def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        category: str | None = None,
        provider: str | None = None,
    ) -> Page[Agent]:
        return self._transport.call(routes.list_agents(page, limit, category, provider))

    def get(self, agent_id: str) -> Agent:
        return self._transport.call(routes.get_agent(agent_id))

    def update(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Agent:
        call = routes.update_agent(agent_id, name, description, model, temperature, max_tokens)
        return self._transport.call(call)

    def status(self, agent_id: str) -> AgentStatus:
        return self._transport.call(routes.agent_status(agent_id))

    def reload(self) -> AgentsReloaded:
        return self._transport.call(routes.reload_agents())


class AsyncAgents:
    def __init__(self, transport: AsyncTransport) -> None:
        self._transport = transport

    async def list(
        self,
        *,
        page: int | None = None,
        limit: int | None = None,
        category: str | None = None,
        provider: str | None = None,
    ) -> Page[Agent]:
        return await self._transport.call(routes.list_agents(page, limit, category, provider))

    async def get(self, agent_id: str) -> Agent:
        return await self._transport.call(routes.get_agent(agent_id))

    async def update(
        self,
        agent_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        model: str | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> Agent:
        call = routes.update_agent(agent_id, name, description, model, temperature, max_tokens)
        return await self._transport.call(call)

    async def status(self, agent_id: str) -> AgentStatus:
        return await self._transport.call(routes.agent_status(agent_id))

    async def reload(self) -> AgentsReloaded:
        return await self._transport.call(routes.reload_agents())
