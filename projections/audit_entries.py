"""What each event means to an auditor: at most one audit entry per event.

Actions are stable dotted names that analytics and alerting match on; never rename one.
Where an event does not say who or from where, the request metadata stored beside it
(see infrastructure/request_metadata.py) does; what neither says stays null.
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from domain.agent import AgentDeactivated, AgentReconfigured, AgentRegistered
from domain.api_key import ApiKeyCreated, ApiKeyRevoked, ApiKeyUsed
from domain.budget import BudgetRemoved, BudgetSet
from domain.conversation import (
    ConversationDeleted,
    ConversationExpired,
    ConversationStarted,
    ConversationTitled,
    MessagesImported,
    ReplyFinished,
    UserMessagePosted,
)
from domain.events import Recorded
from domain.file import CadParsed, CadParseFailed, FileDeleted, FileUploaded
from domain.rate_limit import RateLimited
from domain.reply_stream import ReplyAttemptFailed, ReplyClaimed
from domain.security import AccessDenied, CommandRefused, SignInFailed, SignInThrottled
from domain.token_family import RefreshReuseDetected, SignedIn, SignedOut, TokenRefreshed
from domain.user import (
    OPERATOR,
    UserDeactivated,
    UserErased,
    UserReactivated,
    UserRegistered,
    UserRoleChanged,
)

# Fixed: an entry's id is derived from its event's stream and version, so a rebuild gives
# every entry the id it had.
ENTRY_NAMESPACE = uuid.UUID("0d7f7a52-3c55-4a0b-9a57-4d1b8e0f6a31")

SUCCESS, FAILURE, UNAUTHORIZED, FORBIDDEN, LIMITED = (
    "success",
    "failure",
    "unauthorized",
    "forbidden",
    "limited",
)

# Every stored event type is in exactly one of these (tests/unit/test_audit_entries.py checks
# it), so a new event type cannot slip past the audit trail unnoticed.
AUDITED = frozenset(
    {
        "AccessDenied",
        "AgentDeactivated",
        "AgentReconfigured",
        "AgentRegistered",
        "ApiKeyCreated",
        "ApiKeyRevoked",
        "ApiKeyUsed",
        "BudgetRemoved",
        "BudgetSet",
        "CadParseFailed",
        "CadParsed",
        "CommandRefused",
        "ConversationDeleted",
        "ConversationExpired",
        "ConversationStarted",
        "ConversationTitled",
        "FileDeleted",
        "FileUploaded",
        "MessagesImported",
        "RateLimited",
        "RefreshReuseDetected",
        "ReplyAttemptFailed",
        "ReplyClaimed",
        "ReplyFinished",  # only a cancelled reply: the cancel command's effect
        "SignInFailed",
        "SignInThrottled",
        "SignedIn",
        "SignedOut",
        "TokenRefreshed",
        "UserMessagePosted",
        "UserDeactivated",
        "UserErased",
        "UserReactivated",
        "UserRegistered",
        "UserRoleChanged",
    }
)
# Bookkeeping streams, the text of replies, and facts already audited through another event
# of the same command (a reply's start goes with its user message).
NOT_AUDITED = frozenset(
    {
        "AdministratorLeft",
        "AgentEnrolled",
        "ApiKeyCatalogued",
        "ChunksAppended",
        "EmailClaimed",
        "ReplyClosed",
        "ReplyOpened",
        "ReplyStarted",
    }
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: str
    position: int
    timestamp: str
    user_id: str | None
    action: str
    resource: str
    outcome: str
    details: str | None
    ip: str | None
    user_agent: str | None
    request_id: str | None


@dataclass(frozen=True, slots=True)
class Fact:
    """What one event contributes; the rest of the entry comes from where it was recorded."""

    action: str
    resource: str
    outcome: str = SUCCESS
    user_id: str | None = None
    details: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None


# A session's or a file's owner, for events that name only the session or the file.
OwnerOf = Callable[[str], str | None]


def fact_of(event: object, owner_of: OwnerOf) -> Fact | None:
    return account_fact(event) or chat_fact(event, owner_of) or other_fact(event, owner_of)


def account_fact(event: object) -> Fact | None:
    match event:
        case UserRegistered(user_id=user_id, role=role):
            return Fact("auth.register", f"users/{user_id}", user_id=user_id, details=role)
        case UserRoleChanged(user_id=user_id, role=role, by=by):
            # An administrator's id when one changed it; else who the request metadata says.
            who = by if by and by != OPERATOR else None
            return Fact("user.role_change", f"users/{user_id}", user_id=who, details=role)
        case UserDeactivated(user_id=user_id, by=by):
            details = "every sign-in and API key of the user ended"
            return Fact("user.deactivate", f"users/{user_id}", user_id=by, details=details)
        case UserReactivated(user_id=user_id, by=by):
            return Fact("user.reactivate", f"users/{user_id}", user_id=by)
        case UserErased(user_id=user_id, by=by):
            details = "conversations, files and personal fields erased (their keys destroyed)"
            return Fact("user.erase", f"users/{user_id}", user_id=by, details=details)
        case SignedIn(family_id=family, user_id=user_id, ip=ip, user_agent=agent):
            return Fact("auth.login", f"sign-ins/{family}", SUCCESS, user_id, None, ip, agent)
        case SignInFailed(email=email, user_id=user_id, reason=reason, ip=ip, user_agent=agent):
            return Fact(
                "auth.login_failed", f"accounts/{email}", FAILURE, user_id, reason, ip, agent
            )
        case SignInThrottled(email=email, user_id=user_id, ip=ip, user_agent=agent):
            details = f"retry after {event.retry_after} s"
            return Fact(
                "auth.login_failed", f"accounts/{email}", LIMITED, user_id, details, ip, agent
            )
        case TokenRefreshed(family_id=family, user_id=user_id, ip=ip, user_agent=agent):
            return Fact("auth.refresh", f"sign-ins/{family}", SUCCESS, user_id, None, ip, agent)
        case RefreshReuseDetected(family_id=family, user_id=user_id, ip=ip, user_agent=agent):
            details = "a rotated refresh token was presented; the sign-in is revoked"
            resource = f"sign-ins/{family}"
            return Fact("auth.refresh_reuse", resource, FAILURE, user_id, details, ip, agent)
        case SignedOut(family_id=family, user_id=user_id, ip=ip, user_agent=agent):
            return Fact("auth.logout", f"sign-ins/{family}", SUCCESS, user_id, None, ip, agent)
        case AccessDenied() | CommandRefused():
            return refusal_fact(event)
        case RateLimited():
            return Fact(
                "rate.limited",
                f"{event.method} {event.path}",
                LIMITED,
                event.user_id,
                f"{event.limit} requests per {event.window_seconds} s for {event.key}",
                event.ip,
                event.user_agent,
                event.request_id,
            )
    return None


def refusal_fact(event: AccessDenied | CommandRefused) -> Fact:
    if isinstance(event, AccessDenied):
        outcome = UNAUTHORIZED if event.status == 401 else FORBIDDEN
        action, details = "access.denied", event.reason
    else:
        outcome, action, details = FAILURE, "command.refused", f"{event.status}: {event.reason}"
    resource = f"{event.method} {event.path}"
    return Fact(
        action,
        resource,
        outcome,
        event.user_id,
        details,
        event.ip,
        event.user_agent,
        event.request_id,
    )


def chat_fact(event: object, owner_of: OwnerOf) -> Fact | None:
    match event:
        case ConversationStarted(session_id=session, owner_id=owner, agent_id=agent):
            return Fact("chat.start", f"chat-sessions/{session}", user_id=owner, details=agent)
        case UserMessagePosted(session_id=session, message_id=message):
            resource = f"chat-sessions/{session}/messages/{message}"
            return Fact("chat.send", resource, user_id=owner_of(f"session:{session}"))
        case ReplyFinished(session_id=session, message_id=message, outcome="cancelled"):
            resource = f"chat-sessions/{session}/messages/{message}"
            return Fact("chat.cancel", resource, user_id=owner_of(f"session:{session}"))
        case MessagesImported(session_id=session, messages=messages):
            whose = owner_of(f"session:{session}")
            details = f"{len(messages)} messages"
            return Fact("chat.import", f"chat-sessions/{session}", user_id=whose, details=details)
        case ConversationTitled(session_id=session):
            whose = owner_of(f"session:{session}")
            return Fact("chat.rename", f"chat-sessions/{session}", user_id=whose)
        case ConversationDeleted(session_id=session, deleted_by=who):
            return Fact("chat.delete", f"chat-sessions/{session}", user_id=who)
        case ConversationExpired(session_id=session):
            whose = owner_of(f"session:{session}")
            return Fact("chat.expire", f"chat-sessions/{session}", user_id=whose)
        case ReplyAttemptFailed(session_id=session):
            return attempt_fact(event, owner_of(f"session:{session}"))
        case ReplyClaimed(session_id=session):
            details = (
                f"instance {event.instance_id} continues it from {event.previous_instance_id}"
                f" after {event.stored_chars} characters"
            )
            whose = owner_of(f"session:{session}")
            return Fact("chat.takeover", f"chat-sessions/{session}", user_id=whose, details=details)
    return None


def attempt_fact(event: ReplyAttemptFailed, owner: str | None) -> Fact:
    """An agent that failed before the reply's first word, and the fallback asked next; or
    one that failed mid-answer, and the agent asked to continue it."""
    then = f"; fell back to {event.next_agent_id}" if event.next_agent_id else ""
    if event.stored_chars and event.next_agent_id:
        then = f" after {event.stored_chars} characters; continued by {event.next_agent_id}"
    details = f"{event.agent_id} ({event.provider} {event.model}): {event.reason}{then}"
    return Fact("chat.attempt_failed", f"chat-sessions/{event.session_id}", FAILURE, owner, details)


def other_fact(event: object, owner_of: OwnerOf) -> Fact | None:
    match event:
        case FileUploaded(file_id=file_id, owner_id=owner):
            details = f"{event.original_name} ({event.size} bytes)"
            return Fact("file.upload", f"files/{file_id}", user_id=owner, details=details)
        case FileDeleted(file_id=file_id, deleted_by=who):
            return Fact("file.delete", f"files/{file_id}", user_id=who)
        case CadParsed(file_id=file_id):
            whose = owner_of(f"file:{file_id}")
            return Fact("file.parse", f"files/{file_id}", user_id=whose)
        case CadParseFailed(file_id=file_id, details=details):
            whose = owner_of(f"file:{file_id}")
            return Fact("file.parse", f"files/{file_id}", FAILURE, whose, details[:500])
        case AgentReconfigured(agent_id=agent_id, source="admin", changed=changed):
            return Fact("agent.update", f"agents/{agent_id}", details=", ".join(changed))
        case AgentReconfigured(agent_id=agent_id, changed=changed):
            return Fact("agent.reload", f"agents/{agent_id}", details=", ".join(changed))
        case AgentRegistered(agent_id=agent_id):
            return Fact("agent.reload", f"agents/{agent_id}", details="registered")
        case AgentDeactivated(agent_id=agent_id, reason=reason):
            return Fact("agent.reload", f"agents/{agent_id}", details=f"deactivated: {reason}")
        case ApiKeyCreated(key_id=key_id, created_by=who, role=role):
            return Fact("apikey.create", f"api-keys/{key_id}", user_id=who, details=role)
        case ApiKeyRevoked(key_id=key_id, revoked_by=who):
            return Fact("apikey.revoke", f"api-keys/{key_id}", user_id=who)
        case ApiKeyUsed(key_id=key_id, ip=ip, user_agent=agent):
            return Fact("apikey.use", f"api-keys/{key_id}", SUCCESS, key_id, None, ip, agent)
        case BudgetSet(scope=scope, subject_id=subject, set_by=who) as budget:
            limits = f"{budget.period}: tokens {budget.tokens}, cost {budget.cost}"
            return Fact("budget.set", f"budgets/{scope}/{subject}", user_id=who, details=limits)
        case BudgetRemoved(scope=scope, subject_id=subject, removed_by=who):
            return Fact("budget.remove", f"budgets/{scope}/{subject}", user_id=who)
    return None


def entry_of(recorded: Recorded, owner_of: OwnerOf) -> AuditEntry | None:
    fact = fact_of(recorded.event, owner_of)
    if fact is None:
        return None
    meta = recorded.meta or {}
    return AuditEntry(
        id=str(uuid.uuid5(ENTRY_NAMESPACE, f"{recorded.stream_id}:{recorded.version}")),
        position=recorded.position,
        timestamp=recorded.timestamp,
        user_id=fact.user_id or meta.get("userId"),
        action=fact.action,
        resource=fact.resource,
        outcome=fact.outcome,
        details=fact.details,
        ip=fact.ip or meta.get("ip"),
        user_agent=fact.user_agent or meta.get("userAgent"),
        request_id=fact.request_id or meta.get("requestId"),
    )
