"""The usage ledger: tokens and cost per day, user, API key, agent, provider and model.

Built from each reply's ReplyFinished, which carries the usage as the provider reported
it (or our estimate, marked so). Cost is computed here, with the price that applied on
the reply's day, and never stored in an event: after a change to the price file,
`llmchat projections rebuild usage` re-prices every report. Replies finished before the
ledger existed carry no caller, agent or model, and are not in it (their tokens remain in
llmchat_stats_daily).
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from psycopg import Cursor

from domain.conversation import ReplyFinished
from domain.events import Recorded
from domain.prices import PriceList, cost
from projections.stats import utc_day

# (day, user, API key or "", agent, provider, model)
LedgerKey = tuple[str, str, str, str, str, str]


@dataclass(slots=True)
class LedgerSums:
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal = field(default_factory=Decimal)
    estimated_requests: int = 0
    unpriced_requests: int = 0

    def row(self) -> tuple[int | Decimal, ...]:
        return (
            self.requests,
            self.prompt_tokens,
            self.completion_tokens,
            self.cached_tokens,
            self.cache_write_tokens,
            self.reasoning_tokens,
            self.cost,
            self.estimated_requests,
            self.unpriced_requests,
        )


SUMS = (
    "requests",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "reasoning_tokens",
    "cost",
    "estimated_requests",
    "unpriced_requests",
)
UPSERT = (
    "INSERT INTO llmchat_usage_daily (day, user_id, api_key_id, agent_id, provider, model, "
    + ", ".join(SUMS)
    + ") VALUES ("
    + ", ".join(["%s"] * (6 + len(SUMS)))
    + ") ON CONFLICT (day, user_id, api_key_id, agent_id, provider, model) DO UPDATE SET "
    + ", ".join(f"{s} = llmchat_usage_daily.{s} + EXCLUDED.{s}" for s in SUMS)
)


class UsageProjection:
    name = "usage"
    tables = ("llmchat_usage_daily",)
    schema = (
        """CREATE TABLE IF NOT EXISTS llmchat_usage_daily (
            day date NOT NULL,
            user_id text NOT NULL,
            api_key_id text NOT NULL,
            agent_id text NOT NULL,
            provider text NOT NULL,
            model text NOT NULL,
            requests bigint NOT NULL,
            prompt_tokens bigint NOT NULL,
            completion_tokens bigint NOT NULL,
            cached_tokens bigint NOT NULL,
            cache_write_tokens bigint NOT NULL,
            reasoning_tokens bigint NOT NULL,
            cost numeric NOT NULL,
            estimated_requests bigint NOT NULL,
            unpriced_requests bigint NOT NULL,
            PRIMARY KEY (day, user_id, api_key_id, agent_id, provider, model)
        )""",
        """CREATE INDEX IF NOT EXISTS llmchat_usage_daily_by_user
            ON llmchat_usage_daily (user_id, day)""",
    )

    def __init__(self, prices: PriceList | None = None) -> None:
        self.prices = prices or PriceList()

    def apply(self, cursor: Cursor[Any], batch: Sequence[Recorded]) -> None:
        """Summed over the batch, one upsert per ledger row: a burst of replies by the same
        few callers touches the same few rows."""
        sums: dict[LedgerKey, LedgerSums] = {}
        for recorded in batch:
            event = recorded.event
            if isinstance(event, ReplyFinished) and event.user_id is not None:
                self.count(sums, utc_day(recorded.timestamp), event)
        if sums:
            cursor.executemany(UPSERT, [(*key, *sums[key].row()) for key in sorted(sums)])

    def count(self, sums: dict[LedgerKey, LedgerSums], day: str, event: ReplyFinished) -> None:
        assert event.user_id is not None
        provider, model = event.provider or "", event.model or ""
        key = (day, event.user_id, event.api_key_id or "", event.agent_id or "", provider, model)
        row = sums.setdefault(key, LedgerSums())
        row.requests += 1
        row.prompt_tokens += event.prompt_tokens
        row.completion_tokens += event.completion_tokens
        row.cached_tokens += event.cached_tokens
        row.cache_write_tokens += event.cache_write_tokens
        row.reasoning_tokens += event.reasoning_tokens
        row.estimated_requests += int(event.usage_estimated)
        price = self.prices.price_on(provider, model, date.fromisoformat(day))
        if price is None:
            row.unpriced_requests += 1
            return
        row.cost += cost(price, event.prompt_tokens, event.completion_tokens, event.cached_tokens)
