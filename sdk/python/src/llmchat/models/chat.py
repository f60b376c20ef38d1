import msgspec

from llmchat.models.base import Model


class ChatMessage(Model):
    role: str
    content: str


class Usage(Model):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class Completion(Model):
    """A whole (non-streamed) reply."""

    id: str
    session_id: str
    message: ChatMessage
    usage: Usage = msgspec.field(default_factory=Usage)
    finish_reason: str | None = None
    created_at: str | None = None

    @property
    def content(self) -> str:
        return self.message.content


class ChatChunk(Model):
    """One piece of a streamed reply; `event_id` is its SSE frame id."""

    type: str = "text"
    content: str = ""
    message_id: str | None = None
    session_id: str | None = None
    event_id: int = 0


class StreamEnd(Model):
    """The `end` frame of a stream."""

    type: str = "end"
    message_id: str | None = None
    session_id: str | None = None
    usage: Usage | None = None
    finish_reason: str | None = None


class Cancelled(Model):
    message_id: str
    finish_reason: str


class Session(Model):
    id: str
    title: str | None = None
    agent_id: str | None = None
    message_count: int = 0
    last_message_at: str | None = None
    created_at: str | None = None


class HistoryMessage(Model):
    id: str
    role: str
    content: str
    created_at: str | None = None
    status: str | None = None


class SavedSession(Model):
    id: str
    title: str | None = None
    agent_id: str | None = None
    message_count: int = 0
