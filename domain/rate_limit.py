"""The security event a refused request leaves in the audit trail.

Refusals are aggregated: one `RateLimited` marks the first refusal of a key in a window,
not every refused request, so a flood cannot flood the event log too. How many were
refused is counted by the `llmchat_http_requests_total{status="429"}` metric.
"""

from dataclasses import dataclass

from domain.events import stored_as


@stored_as("RateLimited")
@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimited:
    key: str  # whose budget ran out: "user:<id>", "apikey:<id>" or "ip:<address>"
    user_id: str | None
    limit: int
    window_seconds: int
    ip: str
    method: str
    path: str
    user_agent: str
    request_id: str
