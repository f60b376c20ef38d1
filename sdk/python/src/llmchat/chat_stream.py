"""`ChatStream`: a streamed reply's chunks, resumed transparently if the connection drops.

If the connection breaks (or ends without the `end` frame), the stream asks
`GET /chat/streams/{messageId}` with `Last-Event-ID` for the frames after the last one it
saw, and carries on: the caller sees every chunk exactly once.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator
from types import TracebackType

import httpx

from llmchat import routes
from llmchat.errors import APIConnectionError, LLMChatError
from llmchat.models import Cancelled, ChatChunk, StreamEnd, Usage
from llmchat.sse import ServerSentEvent, SSEDecoder
from llmchat.stream_state import NOTHING_AFTER, StreamState, worth_retrying
from llmchat.sync_transport import SyncTransport


def server_sent_events(response: httpx.Response) -> Iterator[ServerSentEvent]:
    decoder = SSEDecoder()
    for data in response.iter_bytes():
        yield from decoder.feed(data)


class ChatStream:
    """Iterate it for `ChatChunk`s; afterwards `text`, `usage` and the ids are known."""

    def __init__(
        self, transport: SyncTransport, response: httpx.Response, state: StreamState
    ) -> None:
        self._transport = transport
        self._response = response
        self.state = state
        self._chunks = self._read_all()

    @property
    def message_id(self) -> str | None:
        return self.state.message_id

    @property
    def session_id(self) -> str | None:
        return self.state.session_id

    @property
    def text(self) -> str:
        """The reply as far as it has been read."""
        return self.state.text

    @property
    def usage(self) -> Usage | None:
        return self.state.usage

    @property
    def finish_reason(self) -> str | None:
        return self.state.finish_reason

    @property
    def end(self) -> StreamEnd | None:
        return self.state.end

    def __iter__(self) -> ChatStream:
        return self

    def __next__(self) -> ChatChunk:
        return next(self._chunks)

    def until_done(self) -> str:
        """Read the rest of the reply; its whole text."""
        for _ in self:
            pass
        return self.text

    def cancel(self) -> Cancelled:
        """Stop the reply on the server (it ends with finish reason `cancelled`)."""
        if self.state.message_id is None:
            raise LLMChatError("the message id is known once the first chunk has arrived")
        return self._transport.call(routes.cancel_stream(self.state.message_id))

    def close(self) -> None:
        self._chunks.close()
        self._response.close()

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def _read_all(self) -> Generator[ChatChunk, None, None]:
        failures = 0
        while True:
            if self._response.status_code == NOTHING_AFTER:
                self._response.close()
                return
            cause: Exception | None = None
            try:
                for event in server_sent_events(self._response):
                    item = self.state.accept(event)
                    if isinstance(item, StreamEnd):
                        return
                    if item is not None:
                        failures = 0
                        yield item
            except httpx.TransportError as error:
                cause = error
            finally:
                self._response.close()
            failures = self._resume(cause, failures)

    def _resume(self, cause: Exception | None, failures: int) -> int:
        """Reopen the stream after the last frame seen; the failures in a row it took."""
        policy = self._transport.stream_policy
        try:
            message_id = self.state.resume_target()
        except APIConnectionError as unresumable:
            raise unresumable from cause
        while failures < policy.resume_attempts:
            failures += 1
            time.sleep(policy.delay(failures))
            call = routes.resume_stream(message_id, self.state.last_event_id)
            try:
                self._response = self._transport.open(call)
                return failures
            except LLMChatError as error:
                if not worth_retrying(error):
                    raise
                cause = error
        raise self.state.gave_up(failures) from cause
