"""Every route of the LLMChat API as an `ApiCall` builder, in the spec's order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from llmchat.api_call import (
    ApiCall,
    FilePart,
    envelope,
    nothing,
    plain_json,
    query,
    raw_bytes,
    text,
)
from llmchat.models import (
    AdminStats,
    Agent,
    AgentsReloaded,
    AgentStatus,
    ApiKey,
    AuditEntry,
    AuditVerification,
    Budget,
    CadDrawing,
    Cancelled,
    ChatMessage,
    Completion,
    CreatedApiKey,
    DetailedHealth,
    ErasedUser,
    FileInfo,
    Health,
    HistoryMessage,
    ManagedUser,
    Page,
    Registered,
    SavedSession,
    Session,
    TokenPair,
)

MessageParam = Mapping[str, str] | ChatMessage
"""A chat message: `{"role": ..., "content": ...}`, or a `ChatMessage`."""


def segment(value: str) -> str:
    """A path segment: an id is quoted whole, slashes and all."""
    return quote(value, safe="")


# Authentication


def register(email: str, password: str, name: str) -> ApiCall[Registered]:
    body = {"email": email, "password": password, "name": name}
    return ApiCall("POST", "auth/register", envelope(Registered), json=body, authenticated=False)


def login(email: str, password: str) -> ApiCall[TokenPair]:
    body = {"email": email, "password": password}
    return ApiCall("POST", "auth/login", envelope(TokenPair), json=body, authenticated=False)


def refresh(refresh_token: str) -> ApiCall[TokenPair]:
    body = {"refreshToken": refresh_token}
    return ApiCall("POST", "auth/refresh", envelope(TokenPair), json=body, authenticated=False)


def logout() -> ApiCall[None]:
    return ApiCall("POST", "auth/logout", envelope(type(None)))


def erase_me(password: str) -> ApiCall[ErasedUser]:
    return ApiCall("DELETE", "auth/me", envelope(ErasedUser), json={"password": password})


# Agents


def list_agents(
    page: int | None, limit: int | None, category: str | None, provider: str | None
) -> ApiCall[Page[Agent]]:
    params = query(page=page, limit=limit, category=category, provider=provider)
    return ApiCall("GET", "agents", envelope(Page[Agent]), params=params)


def get_agent(agent_id: str) -> ApiCall[Agent]:
    return ApiCall("GET", f"agents/{segment(agent_id)}", envelope(Agent))


def update_agent(
    agent_id: str,
    name: str | None,
    description: str | None,
    model: str | None,
    temperature: float | None,
    max_tokens: int | None,
) -> ApiCall[Agent]:
    body: dict[str, Any] = {
        k: v for k, v in (("name", name), ("description", description)) if v is not None
    }
    config = {
        k: v
        for k, v in (("model", model), ("temperature", temperature), ("maxTokens", max_tokens))
        if v is not None
    }
    if config:
        body["config"] = config
    return ApiCall("PUT", f"agents/{segment(agent_id)}", envelope(Agent), json=body)


def agent_status(agent_id: str) -> ApiCall[AgentStatus]:
    return ApiCall("GET", f"agents/{segment(agent_id)}/status", envelope(AgentStatus))


def reload_agents() -> ApiCall[AgentsReloaded]:
    return ApiCall("POST", "agents/reload", envelope(AgentsReloaded))


# Chat


def wire_message(message: MessageParam) -> dict[str, str]:
    if isinstance(message, ChatMessage):
        return {"role": message.role, "content": message.content}
    return {"role": message["role"], "content": message["content"]}


def completion_body(
    agent_id: str,
    messages: Sequence[MessageParam],
    stream: bool,
    session_id: str | None,
    temperature: float | None,
    max_tokens: int | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "agentId": agent_id,
        "messages": [wire_message(m) for m in messages],
        "stream": stream,
    }
    if session_id is not None:
        body["sessionId"] = session_id
    config: dict[str, float | int] = {}
    if temperature is not None:
        config["temperature"] = temperature
    if max_tokens is not None:
        config["maxTokens"] = max_tokens
    if config:
        body["config"] = config
    return body


def complete(body: dict[str, Any]) -> ApiCall[Completion]:
    return ApiCall("POST", "chat/completions", envelope(Completion), json=body)


def start_stream(body: dict[str, Any]) -> ApiCall[None]:
    headers = {"Accept": "text/event-stream"}
    return ApiCall("POST", "chat/completions", nothing, json=body, headers=headers)


def resume_stream(message_id: str, last_event_id: int) -> ApiCall[None]:
    headers = {"Accept": "text/event-stream", "Last-Event-ID": str(last_event_id)}
    return ApiCall("GET", f"chat/streams/{segment(message_id)}", nothing, headers=headers)


def cancel_stream(message_id: str) -> ApiCall[Cancelled]:
    return ApiCall("POST", f"chat/streams/{segment(message_id)}/cancel", envelope(Cancelled))


def list_sessions(page: int | None, limit: int | None) -> ApiCall[Page[Session]]:
    return ApiCall(
        "GET", "chat/sessions", envelope(Page[Session]), params=query(page=page, limit=limit)
    )


def session_history(
    session_id: str, page: int | None, limit: int | None, before: str | None
) -> ApiCall[Page[HistoryMessage]]:
    path = f"chat/sessions/{segment(session_id)}/history"
    params = query(page=page, limit=limit, before=before)
    return ApiCall("GET", path, envelope(Page[HistoryMessage]), params=params)


def save_session(
    session_id: str, title: str, agent_id: str, messages: Sequence[MessageParam]
) -> ApiCall[SavedSession]:
    body = {
        "sessionId": session_id,
        "title": title,
        "agentId": agent_id,
        "messages": [wire_message(m) for m in messages],
    }
    return ApiCall("POST", "chat/sessions/save", envelope(SavedSession), json=body)


def delete_session(session_id: str) -> ApiCall[None]:
    return ApiCall("DELETE", f"chat/sessions/{segment(session_id)}", envelope(type(None)))


# Files


def upload_file(
    part: FilePart, file_type: str | None, description: str | None
) -> ApiCall[FileInfo]:
    form = {k: v for k, v in (("type", file_type), ("description", description)) if v is not None}
    return ApiCall("POST", "upload", envelope(FileInfo), file=part, form=form)


def file_info(file_id: str) -> ApiCall[FileInfo]:
    return ApiCall("GET", f"upload/{segment(file_id)}", envelope(FileInfo))


def delete_file(file_id: str) -> ApiCall[None]:
    return ApiCall("DELETE", f"upload/{segment(file_id)}", envelope(type(None)))


def download_file(stored_name: str, byte_range: tuple[int, int | None] | None) -> ApiCall[bytes]:
    headers = {}
    if byte_range is not None:
        first, last = byte_range
        headers["Range"] = f"bytes={first}-{'' if last is None else last}"
    path = f"uploads/{segment(stored_name)}"
    return ApiCall("GET", path, raw_bytes, from_root=True, headers=headers)


# CAD


def parse_sent_drawing(part: FilePart) -> ApiCall[CadDrawing]:
    return ApiCall("POST", "cad/parse", envelope(CadDrawing), file=part)


def parse_uploaded_drawing(file_id: str) -> ApiCall[CadDrawing]:
    return ApiCall("POST", "cad/parse", envelope(CadDrawing), json={"fileId": file_id})


def drawing_preview(file_id: str) -> ApiCall[str]:
    return ApiCall("GET", f"cad/{segment(file_id)}/preview.svg", text)


# Administration


def admin_stats() -> ApiCall[AdminStats]:
    return ApiCall("GET", "admin/stats", envelope(AdminStats))


def admin_audit(
    page: int | None,
    limit: int | None,
    user_id: str | None,
    action: str | None,
    start_date: str | None,
    end_date: str | None,
) -> ApiCall[Page[AuditEntry]]:
    params = query(
        page=page,
        limit=limit,
        user_id=user_id,
        action=action,
        start_date=start_date,
        end_date=end_date,
    )
    return ApiCall("GET", "admin/audit", envelope(Page[AuditEntry]), params=params)


def admin_verify_audit() -> ApiCall[AuditVerification]:
    return ApiCall("GET", "admin/audit/verify", envelope(AuditVerification))


def create_api_key(name: str, role: str, scopes: Sequence[str]) -> ApiCall[CreatedApiKey]:
    body = {"name": name, "role": role, "scopes": list(scopes)}
    return ApiCall("POST", "admin/api-keys", envelope(CreatedApiKey), json=body)


def list_api_keys(page: int | None, limit: int | None) -> ApiCall[Page[ApiKey]]:
    return ApiCall(
        "GET", "admin/api-keys", envelope(Page[ApiKey]), params=query(page=page, limit=limit)
    )


def revoke_api_key(key_id: str) -> ApiCall[ApiKey]:
    return ApiCall("DELETE", f"admin/api-keys/{segment(key_id)}", envelope(ApiKey))


def list_users(
    page: int | None, limit: int | None, role: str | None, status: str | None, email: str | None
) -> ApiCall[Page[ManagedUser]]:
    params = query(page=page, limit=limit, role=role, status=status, email=email)
    return ApiCall("GET", "admin/users", envelope(Page[ManagedUser]), params=params)


def change_user(user_id: str, role: str | None, status: str | None) -> ApiCall[ManagedUser]:
    body = {name: value for name, value in (("role", role), ("status", status)) if value}
    return ApiCall("PATCH", f"admin/users/{segment(user_id)}", envelope(ManagedUser), json=body)


def erase_user(user_id: str) -> ApiCall[ErasedUser]:
    return ApiCall("POST", f"admin/users/{segment(user_id)}/erase", envelope(ErasedUser))


def budget_path(scope: str, subject_id: str) -> str:
    return f"admin/budgets/{segment(scope)}/{segment(subject_id)}"


def set_budget(
    scope: str, subject_id: str, period: str, tokens: int | None, cost: float | None
) -> ApiCall[Budget]:
    body: dict[str, Any] = {"period": period}
    if tokens is not None:
        body["tokens"] = tokens
    if cost is not None:
        body["cost"] = cost
    return ApiCall("PUT", budget_path(scope, subject_id), envelope(Budget), json=body)


def get_budget(scope: str, subject_id: str) -> ApiCall[Budget]:
    return ApiCall("GET", budget_path(scope, subject_id), envelope(Budget))


def remove_budget(scope: str, subject_id: str) -> ApiCall[None]:
    return ApiCall("DELETE", budget_path(scope, subject_id), envelope(type(None)))


# Health and monitoring


def health() -> ApiCall[Health]:
    return ApiCall("GET", "health", plain_json(Health), authenticated=False, from_root=True)


def detailed_health() -> ApiCall[DetailedHealth]:
    return ApiCall(
        "GET", "health/detailed", plain_json(DetailedHealth), authenticated=False, from_root=True
    )


def metrics() -> ApiCall[str]:
    return ApiCall("GET", "metrics", text, from_root=True)
