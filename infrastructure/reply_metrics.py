"""ReplyMetrics on the Prometheus metrics of infrastructure.metrics."""

from infrastructure import metrics


class PrometheusReplyMetrics:
    def reply_started(self) -> None:
        metrics.ACTIVE_STREAMS.inc()

    def first_chunk(self, provider: str, seconds: float) -> None:
        metrics.TIME_TO_FIRST_CHUNK.labels(provider=provider).observe(seconds)

    def reply_ended(self, provider: str, outcome: str, error: str | None) -> None:
        metrics.ACTIVE_STREAMS.dec()
        if error is not None:
            metrics.PROVIDER_ERRORS.labels(provider=provider, kind=error).inc()
