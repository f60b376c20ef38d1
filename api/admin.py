"""/api/admin/stats, /api/admin/audit and its verification: what administrators read about
the whole system.

Stats and the audit page read read models (projections/stats.py, projections/audit.py), so
they trail the log by the projections' lag (see `llmchat projections status`); the
verification recomputes both chains from the raw tables, as `llmchat audit verify` does.
"""

from typing import Annotated, Any

from anyio import to_thread
from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.dependencies import (
    AgentsDep,
    AuditViewsDep,
    CallerDep,
    ClockDep,
    StatsViewsDep,
    SystemDep,
)
from api.envelope import paginated, success
from application.admin_stats import AgentSummary, admin_stats
from application.audit_log import audit_page, audit_query
from projections.log_verification import verification_view, verify_log

# As the agents listing: a catalogue refreshed this recently is current enough.
AGENTS_REFRESH_SECONDS = 2.0


class AdminController(Controller):
    path = "/api/admin"

    @get("/stats")
    async def stats(
        self,
        agents: AgentsDep,
        stats_views: StatsViewsDep,
        system: SystemDep,
        clock: ClockDep,
        admin: CallerDep,
    ) -> dict[str, Any]:
        await to_thread.run_sync(agents.refresh_if_older_than, AGENTS_REFRESH_SECONDS)
        summaries = [AgentSummary(a.status, a.settings.category) for a in agents.listed()]
        figures = await to_thread.run_sync(admin_stats, stats_views, summaries, system, clock)
        return success(figures)

    @get("/audit")
    async def audit(
        self,
        audit_views: AuditViewsDep,
        admin: CallerDep,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
        user_id: Annotated[str | None, QueryParameter(name="userId", max_length=200)] = None,
        action: Annotated[str | None, QueryParameter(max_length=200)] = None,
        start_date: Annotated[str | None, QueryParameter(name="startDate", max_length=64)] = None,
        end_date: Annotated[str | None, QueryParameter(name="endDate", max_length=64)] = None,
    ) -> dict[str, Any]:
        query = audit_query(page, limit, user_id, action, start_date, end_date)
        items, total = await to_thread.run_sync(audit_page, audit_views, query)
        return paginated(items, query.page, query.limit, total)

    @get("/audit/verify")
    async def verify(self, audit_views: AuditViewsDep, admin: CallerDep) -> dict[str, Any]:
        # The same database as the trail's: both chains are read from the raw tables.
        verified = await to_thread.run_sync(verify_log, audit_views.datastore)
        return success(verification_view(verified))
