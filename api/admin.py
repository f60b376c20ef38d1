"""/api/admin/stats and /api/admin/audit: what administrators read about the whole system.

Both read read models (projections/stats.py, projections/audit.py), so they trail the log by
the projections' lag (see `llmchat projections status`).
"""

from typing import Annotated, Any

from anyio import to_thread
from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.dependencies import CallerDep, ContainerDep
from api.envelope import paginated, success
from application.admin_stats import AgentSummary, SystemInfo, admin_stats
from application.audit_log import audit_page, audit_query
from projections.audit_views import AuditViews
from projections.stats_views import StatsViews

# As the agents listing: a catalogue refreshed this recently is current enough.
AGENTS_REFRESH_SECONDS = 2.0


class AdminController(Controller):
    path = "/api/admin"

    @get("/stats")
    async def stats(self, container: ContainerDep, admin: CallerDep) -> dict[str, Any]:
        catalogue = container.agents
        await to_thread.run_sync(catalogue.refresh_if_older_than, AGENTS_REFRESH_SECONDS)
        agents = [AgentSummary(a.status, a.settings.category) for a in catalogue.listed()]
        system = SystemInfo(container.started_at, container.version, container.settings.environment)
        usage = StatsViews(container.datastore)
        figures = await to_thread.run_sync(
            admin_stats, usage, agents, system, container.accounts.clock
        )
        return success(figures)

    @get("/audit")
    async def audit(
        self,
        container: ContainerDep,
        admin: CallerDep,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
        user_id: Annotated[str | None, QueryParameter(name="userId", max_length=200)] = None,
        action: Annotated[str | None, QueryParameter(max_length=200)] = None,
        start_date: Annotated[str | None, QueryParameter(name="startDate", max_length=64)] = None,
        end_date: Annotated[str | None, QueryParameter(name="endDate", max_length=64)] = None,
    ) -> dict[str, Any]:
        query = audit_query(page, limit, user_id, action, start_date, end_date)
        items, total = await to_thread.run_sync(audit_page, AuditViews(container.datastore), query)
        return paginated(items, query.page, query.limit, total)
