"""A fake LLM provider server speaking the OpenAI, Anthropic, FastGPT and Dify wire formats.

In a test::

    with FakeProviderThread() as fake:          # or FakeProviderProcess()
        endpoint = fake.endpoint("anthropic")   # base URL to put in a ProviderRequest
        ...
        fake.last_request("/anthropic/v1/messages").headers["x-api-key"]

From a shell: ``python -m tests.fake_provider --port 8999``. Fault injection and
the reply text are described in ``tests.fake_provider.server``.
"""

from tests.fake_provider.server import (
    ENDPOINT_PATHS,
    FakeProvider,
    FakeProviderApp,
    FakeProviderProcess,
    FakeProviderThread,
    RecordedRequest,
)
from tests.fake_provider.wire import (
    CACHE_WRITE_TOKENS,
    CACHED_TOKENS,
    PROMPT_TOKENS,
    REASONING_TOKENS,
    REPLY_TEXT,
    STREAM_ERROR_CODE,
    STREAM_ERROR_MESSAGE,
    Usage,
    reply_pieces,
    reported_usage,
)

__all__ = [
    "CACHED_TOKENS",
    "CACHE_WRITE_TOKENS",
    "ENDPOINT_PATHS",
    "PROMPT_TOKENS",
    "REASONING_TOKENS",
    "REPLY_TEXT",
    "STREAM_ERROR_CODE",
    "STREAM_ERROR_MESSAGE",
    "FakeProvider",
    "FakeProviderApp",
    "FakeProviderProcess",
    "FakeProviderThread",
    "RecordedRequest",
    "Usage",
    "reply_pieces",
    "reported_usage",
]
