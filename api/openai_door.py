"""/v1: an OpenAI-compatible door onto the same chats, for tools that speak only OpenAI.

`POST /v1/chat/completions` (blocking or streaming) and `GET /v1/models`, in OpenAI's own
wire format (api/openai_wire.py). `model` names an agent. Every call is a SendMessage like
any other: a new conversation of the caller's (an access token's user, or an API key's
service account), stored as events, in history, stats and the audit trail, rate-limited
before routing as every route is. Errors are OpenAI's `{"error": {...}}` with the status the
envelope would have had.
"""

import time
from datetime import datetime
from typing import Any

import msgspec
from anyio import to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import Stream

from api.chat import caller_of, final_of, opened
from api.dependencies import AgentsDep, CallerDep, ChatDep
from api.envelope import EXCEPTION_HANDLERS, failure_of
from api.failures import Failure
from api.openai_chunks import completion_chunks, finish_of
from api.openai_wire import (
    AssistantMessage,
    ChatCompletion,
    ChatCompletionRequest,
    Choice,
    CompletionIds,
    Model,
    ModelList,
    OpenAIError,
    OpenAIRequestError,
    chat_turns,
    check_request,
    completion_id,
    openai_error,
    quota_error,
    usage_of,
)
from api.request_body import UnstorableText
from api.sse import HEADERS, EventStream, with_heartbeat
from application.agents import AgentCatalogue
from application.errors import BudgetExceeded, NotFound
from application.ports import AccessClaims
from application.reply_frames import EndFrame
from application.send_message import SendMessage, send_message
from domain.agent import Agent

# As /api/agents: a catalogue refreshed this recently is current enough.
AGENTS_REFRESH_SECONDS = 2.0


class ModelNotFound(NotFound):
    def __init__(self, model: str) -> None:
        super().__init__(f"The model '{model}' does not exist or is not active", "model")


def shown(failure: Failure) -> str:
    """The envelope's message with its details, in OpenAI's one message."""
    message, details = failure.message, failure.details
    if not details or details == message or details == "model":
        return message
    if isinstance(details, list):  # Litestar's validation errors: [{"message", "key", ...}]
        said = "; ".join(
            str(d.get("message", d)) if isinstance(d, dict) else str(d) for d in details
        )
    else:
        said = details if isinstance(details, str) else msgspec.json.encode(details).decode()
    return f"{message}: {said}"


def on_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The failure as the envelope classifies it, said the way OpenAI says it."""
    failure = failure_of(request, error)
    param = error.param if isinstance(error, OpenAIRequestError) else None
    if isinstance(error, UnstorableText):
        param = error.field
    if isinstance(error, ModelNotFound):
        param = "model"
    if isinstance(error, BudgetExceeded):
        resets = f"{error.message}; it resets at {error.facts['resetsAt']}"
        return Response(quota_error(resets), status_code=failure.status, headers=failure.headers)
    body = openai_error(failure.status, shown(failure), param)
    return Response(body, status_code=failure.status, headers=failure.headers)


def created_of(agent: Agent) -> int:
    try:
        return int(datetime.fromisoformat(agent.updated_at).timestamp())
    except ValueError:
        return 0


def model_of(agent: Agent) -> Model:
    return Model(id=agent.id, object="model", created=created_of(agent), owned_by="llmchat")


async def active_agents(agents: AgentCatalogue) -> list[Agent]:
    await to_thread.run_sync(agents.refresh_if_older_than, AGENTS_REFRESH_SECONDS)
    return [a for a in agents.listed() if a.status == "active"]


def command_of(data: ChatCompletionRequest, principal: AccessClaims) -> SendMessage:
    return SendMessage(
        caller=caller_of(principal),
        agent_id=data.model,
        messages=chat_turns(data),
        stream=bool(data.stream),
        temperature=data.temperature,
        max_tokens=data.token_limit,
    )


def completion_of(ids: CompletionIds, text: str, final: EndFrame) -> ChatCompletion:
    choice = Choice(0, AssistantMessage("assistant", text), finish_of(final))
    return ChatCompletion(
        id=ids.id,
        object="chat.completion",
        created=ids.created,
        model=ids.model,
        choices=[choice],
        usage=usage_of(final.usage),
    )


class OpenAIController(Controller):
    path = "/v1"
    tags = ["OpenAI-compatible"]
    # Every kind the app handles, so none of the app's envelope handlers wins here.
    exception_handlers = dict.fromkeys(EXCEPTION_HANDLERS, on_error)

    @post("/chat/completions", status_code=200)
    async def chat_completions(
        self,
        data: JSONBody[ChatCompletionRequest],
        chat: ChatDep,
        principal: CallerDep,
    ) -> ChatCompletion | Stream:
        """A chat with the agent named by `model`, in OpenAI's format (SSE with `stream`)."""
        check_request(data)
        agent = chat.agents.find(data.model)
        if agent is None or agent.status != "active":
            raise ModelNotFound(data.model)
        created = int(time.time())
        started = await send_message(chat, command_of(data, principal))
        ids = CompletionIds(completion_id(started.message_id), created, data.model)
        feed, first = await opened(chat, started)
        if data.stream:
            chunks = completion_chunks(feed.frames(first), ids, data.wants_usage_chunk)
            return EventStream(
                with_heartbeat(chunks), media_type="text/event-stream", headers=HEADERS
            )
        return completion_of(ids, started.recorder.text, await final_of(feed, first))

    @get("/models")
    async def models(self, agents: AgentsDep, principal: CallerDep) -> ModelList:
        """The active agents, as OpenAI models."""
        active = await active_agents(agents)
        return ModelList(object="list", data=[model_of(a) for a in active])

    @get("/models/{model_id:str}")
    async def model(
        self, model_id: FromPath[str], agents: AgentsDep, principal: CallerDep
    ) -> Model:
        """One active agent, as an OpenAI model."""
        agent = next((a for a in await active_agents(agents) if a.id == model_id), None)
        if agent is None:
            raise ModelNotFound(model_id)
        return model_of(agent)


__all__ = ["OpenAIController", "OpenAIError"]
