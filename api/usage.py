"""/api/admin/usage and /api/usage: the usage ledger (projections/usage.py), as the
paginated envelope, or as CSV of the same rows with `Accept: text/csv`.

Both read a read model, so a reply shows in them within the projections' lag.
"""

import csv
import io
from typing import Annotated, Any

from anyio import to_thread
from litestar import Controller, Request, Response, get
from litestar.params import FromQuery, QueryParameter

from api.dependencies import CallerDep, UsageViewsDep
from api.envelope import paginated
from api.scope import header
from application.usage_report import (
    OWN_GROUPS,
    UsageQuery,
    as_csv_rows,
    usage_page,
    usage_query,
)
from projections.usage_views import UsageViews

CSV = "text/csv"


def wants_csv(request: Request[Any, Any, Any]) -> bool:
    accepted = header(request.scope, b"accept").lower()
    return any(part.split(";")[0].strip() == CSV for part in accepted.split(","))


async def answer(
    request: Request[Any, Any, Any], usage_views: UsageViews, query: UsageQuery
) -> Response[Any] | dict[str, Any]:
    items, total = await to_thread.run_sync(usage_page, usage_views, query)
    if not wants_csv(request):
        return paginated(items, query.page, query.limit, total)
    text = io.StringIO()
    csv.writer(text, lineterminator="\r\n").writerows(as_csv_rows(items))
    return Response(text.getvalue(), media_type=f"{CSV}; charset=utf-8")


class UsageController(Controller):
    path = "/api"

    @get("/admin/usage")
    async def all_usage(
        self,
        request: Request[Any, Any, Any],
        usage_views: UsageViewsDep,
        admin: CallerDep,
        group_by: Annotated[str | None, QueryParameter(name="groupBy", max_length=20)] = None,
        first: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> Any:
        """Everyone's usage, grouped by user, apiKey, agent, model or day."""
        query = usage_query(group_by, first, last, page, limit)
        return await answer(request, usage_views, query)

    @get("/usage")
    async def own_usage(
        self,
        request: Request[Any, Any, Any],
        usage_views: UsageViewsDep,
        principal: CallerDep,
        group_by: Annotated[str | None, QueryParameter(name="groupBy", max_length=20)] = None,
        first: Annotated[str | None, QueryParameter(name="from", max_length=40)] = None,
        last: Annotated[str | None, QueryParameter(name="to", max_length=40)] = None,
        page: FromQuery[int] = 1,
        limit: FromQuery[int] = 20,
    ) -> Any:
        """The caller's own usage, grouped by day, agent or model."""
        query = usage_query(group_by, first, last, page, limit, OWN_GROUPS, principal.user_id)
        return await answer(request, usage_views, query)
