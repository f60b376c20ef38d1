"""Names for what handlers are given, passed as they are: the narrow services a controller
uses (api/app.py provides each from the composition root), the caller, the request context.

Litestar would otherwise convert a dependency into its declared type on every request;
these are already that type, so conversion is both wasted work and, for services,
impossible.
"""

from typing import Annotated

from eventsourcing.postgres import PostgresDatastore
from litestar.di import NamedDependency
from litestar.params import PathParameter, SkipValidation
from redis import Redis

from api.callers import Callers
from api.rate_limit import RateLimits
from api.request_context import RequestContext
from application.accounts import Accounts
from application.admin_stats import SystemInfo
from application.agent_status import AgentHealth
from application.agents import AgentCatalogue, AgentSource
from application.api_keys import ApiKeys
from application.budget_gate import Budgets
from application.chat import Chat
from application.erase_user import Erasing
from application.files import Files
from application.jobs import Jobs
from application.ports import AccessClaims, Clock, EventStore
from domain.ids import CANONICAL_PATTERN
from infrastructure.settings import Settings
from projections.audit_views import AuditViews
from projections.conversation_views import ConversationViews
from projections.stats_views import StatsViews
from projections.usage_views import UsageViews
from projections.user_views import UserViews

CallerDep = NamedDependency[SkipValidation[AccessClaims]]
RequestContextDep = NamedDependency[SkipValidation[RequestContext]]
AccountsDep = NamedDependency[SkipValidation[Accounts]]
ApiKeysDep = NamedDependency[SkipValidation[ApiKeys]]
CallersDep = NamedDependency[SkipValidation[Callers]]
AgentsDep = NamedDependency[SkipValidation[AgentCatalogue]]
StatsViewsDep = NamedDependency[SkipValidation[StatsViews]]
AuditViewsDep = NamedDependency[SkipValidation[AuditViews]]
UserViewsDep = NamedDependency[SkipValidation[UserViews]]
ErasingDep = NamedDependency[SkipValidation[Erasing]]
SystemDep = NamedDependency[SkipValidation[SystemInfo]]
ClockDep = NamedDependency[SkipValidation[Clock]]
AgentHealthDep = NamedDependency[SkipValidation[AgentHealth]]
AgentSourceDep = NamedDependency[SkipValidation[AgentSource]]
# The event log, for the use cases that take it as they are (agents reconfigure, reload).
StoreDep = NamedDependency[SkipValidation[EventStore]]
BudgetsDep = NamedDependency[SkipValidation[Budgets]]
ChatDep = NamedDependency[SkipValidation[Chat]]
RateLimitsDep = NamedDependency[SkipValidation[RateLimits]]
ConversationViewsDep = NamedDependency[SkipValidation[ConversationViews]]
UsageViewsDep = NamedDependency[SkipValidation[UsageViews]]
FilesDep = NamedDependency[SkipValidation[Files]]
JobsDep = NamedDependency[SkipValidation[Jobs]]
SettingsDep = NamedDependency[SkipValidation[Settings]]
# What /health and /metrics probe: the adapters themselves.
DatastoreDep = NamedDependency[SkipValidation[PostgresDatastore]]
RedisDep = NamedDependency[SkipValidation[Redis | None]]

# The id a write names in its path: anything but the canonical form is 400 before the handler
# (a read answers 404 for it instead: it names nothing there is).
WrittenId = Annotated[str, PathParameter(pattern=CANONICAL_PATTERN)]
