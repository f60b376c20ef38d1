"""ReplyMetrics on the Prometheus metrics of infrastructure.metrics."""

from datetime import UTC, datetime

from domain.conversation import ReplyFinished
from domain.prices import PriceList, cost
from infrastructure import metrics


class PrometheusReplyMetrics:
    def __init__(self, prices: PriceList | None = None) -> None:
        self.prices = prices or PriceList()

    def reply_started(self) -> None:
        metrics.ACTIVE_STREAMS.inc()

    def first_chunk(self, provider: str, seconds: float) -> None:
        metrics.TIME_TO_FIRST_CHUNK.labels(provider=provider).observe(seconds)

    def reply_ended(self, provider: str, outcome: str, error: str | None) -> None:
        metrics.ACTIVE_STREAMS.dec()
        if error is not None:
            metrics.PROVIDER_ERRORS.labels(provider=provider, kind=error).inc()

    def usage(self, finished: ReplyFinished) -> None:
        agent, model = finished.agent_id or "", finished.model or ""
        tokens = (
            ("prompt", finished.prompt_tokens),
            ("completion", finished.completion_tokens),
            ("cached", finished.cached_tokens),
        )
        for kind, count in tokens:
            if count:
                metrics.TOKENS.labels(agent=agent, model=model, kind=kind).inc(count)
        today = datetime.now(UTC).date()
        price = self.prices.price_on(finished.provider or "", model, today)
        if price is not None:
            spent = cost(
                price, finished.prompt_tokens, finished.completion_tokens, finished.cached_tokens
            )
            metrics.COST.labels(agent=agent, model=model).inc(float(spent))

    def fell_back(self, from_agent: str, to_agent: str, reason: str) -> None:
        counter = metrics.PROVIDER_FALLBACKS
        counter.labels(from_agent=from_agent, to_agent=to_agent, reason=reason).inc()
