"""What each route answers on success, as JSON Schema for the OpenAPI document.

Under /api this is the envelope's `data` (DATA); elsewhere the whole body, where Litestar sees
only a dict (BODIES). Where the answer is a msgspec struct its schema is the struct's own
(STRUCT_SCHEMAS), so the document cannot drift from what is encoded; the views the handlers
build as dicts are described here, field by field, and the schemathesis run
(tests/e2e/test_schema.py) holds every answer to them.
"""

from typing import Any

import msgspec

from api.files import FileView
from infrastructure.cad.model import CadDrawing

Schema = dict[str, Any]

COMPONENTS = "#/components/schemas/{name}"
_, STRUCT_SCHEMAS = msgspec.json.schema_components([FileView, CadDrawing], ref_template=COMPONENTS)


def ref(name: str) -> dict[str, str]:
    return {"$ref": COMPONENTS.format(name=name)}


STRING = {"type": "string"}
STRINGS = {"type": "array", "items": STRING}
OPTIONAL_STRING = {"type": ["string", "null"]}
NUMBER = {"type": "integer", "minimum": 0}
REAL = {"type": "number"}
BOOLEAN = {"type": "boolean"}
TIME = {"type": "string", "format": "date-time"}
HEALTH = {"enum": ["healthy", "degraded", "unhealthy"]}


def shape(required: Schema, **optional: Any) -> Schema:
    """An object with these fields (more may come: clients ignore what they do not know)."""
    return {"type": "object", "required": list(required), "properties": {**required, **optional}}


def page_of(item: Schema) -> Schema:
    pagination = shape({"page": NUMBER, "limit": NUMBER, "total": NUMBER, "totalPages": NUMBER})
    return shape({"items": {"type": "array", "items": item}, "pagination": pagination})


SESSION_USER = shape({"id": STRING, "email": STRING, "role": STRING})
TOKEN_PAIR = shape(
    {"token": STRING, "refreshToken": STRING, "expiresIn": NUMBER, "user": SESSION_USER}
)
USAGE = shape(
    {},
    promptTokens=NUMBER,
    completionTokens=NUMBER,
    totalTokens=NUMBER,
    cachedTokens=NUMBER,
    cacheWriteTokens=NUMBER,
    reasoningTokens=NUMBER,
    estimated=BOOLEAN,
)
# projections/conversation_views.py
SESSION = shape(
    {
        "id": STRING,
        "title": STRING,
        "agentId": STRING,
        "messageCount": NUMBER,
        "lastMessageAt": {"type": ["string", "null"], "format": "date-time"},
        "createdAt": TIME,
    }
)
MESSAGE = shape(
    {"id": STRING, "role": STRING, "content": STRING, "createdAt": TIME},
    status={**STRING, "description": "An assistant message's: how its reply ended"},
)
# api/agents.py
AGENT = shape(
    {
        "id": STRING,
        "name": STRING,
        "description": STRING,
        "category": STRING,
        "provider": STRING,
        "avatar": OPTIONAL_STRING,
        "status": STRING,
        "capabilities": STRINGS,
        "config": shape(
            {
                "model": STRING,
                "temperature": {"type": ["number", "null"]},
                "maxTokens": {"type": ["integer", "null"]},
            }
        ),
    }
)
AGENT_STATUS = shape(
    {
        "id": STRING,
        "provider": STRING,
        "status": STRING,
        "reachable": BOOLEAN,
        "latency": {"type": ["number", "null"], "description": "milliseconds"},
        "checkedAt": TIME,
        "error": OPTIONAL_STRING,
    }
)
AGENTS_RELOADED = shape({"registered": STRINGS, "reconfigured": STRINGS, "deactivated": STRINGS})
# application/admin_stats.py
ADMIN_STATS = shape(
    {
        "users": shape({"total": NUMBER, "active": NUMBER, "newToday": NUMBER}),
        "agents": shape({"total": NUMBER, "active": NUMBER, "categories": STRINGS}),
        "chats": shape({"total": NUMBER, "today": NUMBER, "averageLength": REAL}),
        "usage": shape(
            {
                "requests": NUMBER,
                "promptTokens": NUMBER,
                "completionTokens": NUMBER,
                "cachedTokens": NUMBER,
                "totalTokens": NUMBER,
                "cost": REAL,
                "today": shape({"requests": NUMBER, "totalTokens": NUMBER, "cost": REAL}),
            }
        ),
        "system": shape(
            {
                "uptime": {**STRING, "examples": ["72h 30m"]},
                "version": STRING,
                "environment": STRING,
            }
        ),
    }
)
# projections/audit_chain.py (canonical_view) and projections/audit_views.py
AUDIT_ENTRY = shape(
    {
        "id": STRING,
        "position": NUMBER,
        "timestamp": TIME,
        "userId": OPTIONAL_STRING,
        "action": STRING,
        "resource": STRING,
        "outcome": STRING,
        "details": OPTIONAL_STRING,
        "ip": OPTIONAL_STRING,
        "userAgent": OPTIONAL_STRING,
        "requestId": OPTIONAL_STRING,
        "hash": STRING,
    }
)
# projections/log_verification.py (verification_view): what `llmchat audit verify` says.
POSITIONS = {"type": "array", "items": NUMBER}
AUDIT_VERIFICATION = shape(
    {
        "intact": BOOLEAN,
        "auditChain": shape(
            {
                "intact": BOOLEAN,
                "entries": NUMBER,
                "head": STRING,
                "verifiedTo": NUMBER,
                "logHead": NUMBER,
                "unaudited": NUMBER,
                "quarantined": POSITIONS,
                "problem": OPTIONAL_STRING,
                "brokenAt": {
                    "oneOf": [{"type": "null"}, shape({"id": STRING, "position": NUMBER})]
                },
            }
        ),
        "eventChain": shape(
            {
                "intact": BOOLEAN,
                "sealing": {**BOOLEAN, "description": "False: the sealer never ran here"},
                "sealed": NUMBER,
                "verifiedTo": NUMBER,
                "seal": STRING,
                "logHead": NUMBER,
                "unsealed": NUMBER,
                "broken": NUMBER,
                "breaks": {
                    "type": "array",
                    "items": shape(
                        {
                            "position": NUMBER,
                            "problem": STRING,
                            "streamId": OPTIONAL_STRING,
                            "version": {"type": ["integer", "null"]},
                            "type": OPTIONAL_STRING,
                        }
                    ),
                },
                "rewritten": {
                    **POSITIONS,
                    "description": "Positions retention rewrote in place (text taken out)",
                },
            }
        ),
    }
)
# projections/usage_views.py; `cost` in the price file's currency.
USAGE_ROW = shape(
    {
        "key": {**STRING, "description": "The group: a user, API key, agent, model or day"},
        "requests": NUMBER,
        "promptTokens": NUMBER,
        "completionTokens": NUMBER,
        "cachedTokens": NUMBER,
        "totalTokens": NUMBER,
        "cost": REAL,
        "estimated": BOOLEAN,
    }
)
# api/api_keys.py: the secret is in the creation's answer only.
API_KEY_FIELDS = {
    "id": STRING,
    "name": STRING,
    "role": STRING,
    "scopes": STRINGS,
    "prefix": STRING,
    "createdBy": STRING,
    "createdAt": TIME,
    "revoked": BOOLEAN,
    "revokedAt": {"type": ["string", "null"], "format": "date-time"},
}
API_KEY = shape(API_KEY_FIELDS)
ISSUED_API_KEY = shape({**API_KEY_FIELDS, "key": STRING})
NOTHING = {"type": "null"}
# api/budgets.py: limits, then the current period's use; null where the budget sets no limit.
OPTIONAL_NUMBER = {"type": ["integer", "null"], "minimum": 0}
OPTIONAL_REAL = {"type": ["number", "null"]}
SPENT = shape({"tokens": NUMBER, "cost": REAL})
BUDGET = shape(
    {
        "scope": {"enum": ["user", "apiKey", "role"]},
        "id": STRING,
        "period": {"enum": ["day", "month"]},
        "tokens": OPTIONAL_NUMBER,
        "cost": OPTIONAL_REAL,
        "setBy": STRING,
        "setAt": TIME,
        "used": SPENT,
        "reserved": {**SPENT, "description": "Held by replies still running"},
        "left": shape({"tokens": OPTIONAL_NUMBER, "cost": OPTIONAL_REAL}),
        "periodStart": {"type": "string", "format": "date"},
        "resetsAt": TIME,
    }
)
BUDGET_PATH = "/api/admin/budgets/{budget_scope}/{id}"
# api/users.py
ADMINISTERED_USER = shape(
    {
        "id": STRING,
        "email": STRING,
        "name": STRING,
        "role": {"enum": ["user", "enterprise", "admin"]},
        "status": {"enum": ["active", "deactivated"]},
        "createdAt": TIME,
    }
)
ERASED_USER = shape(
    {
        "id": STRING,
        "status": {"enum": ["deactivated"]},
        "erased": {"enum": [True]},
        "keysDestroyed": NUMBER,
        "filesDeleted": NUMBER,
    }
)

# Each route's `data` in its 200 answer.
DATA: dict[tuple[str, str], Schema] = {
    ("post", "/api/auth/register"): shape(
        {"user": shape({"id": STRING, "email": STRING, "name": STRING, "createdAt": TIME})}
    ),
    ("post", "/api/auth/login"): TOKEN_PAIR,
    ("post", "/api/auth/refresh"): TOKEN_PAIR,
    ("post", "/api/auth/logout"): NOTHING,
    ("post", "/api/chat/completions"): shape(
        {
            "id": STRING,
            "sessionId": STRING,
            "message": shape({"role": {"const": "assistant"}, "content": STRING}),
            "finishReason": OPTIONAL_STRING,
            "createdAt": TIME,
        },
        usage=USAGE,
    ),
    ("post", "/api/chat/streams/{message_id}/cancel"): shape(
        {"messageId": STRING, "finishReason": STRING}
    ),
    ("get", "/api/chat/sessions"): page_of(SESSION),
    ("get", "/api/chat/sessions/{session_id}/history"): page_of(MESSAGE),
    ("post", "/api/chat/sessions/save"): shape(
        {"id": STRING, "title": STRING, "agentId": STRING, "messageCount": NUMBER}
    ),
    ("delete", "/api/chat/sessions/{session_id}"): NOTHING,
    ("get", "/api/agents"): page_of(AGENT),
    ("get", "/api/agents/{agent_id}"): AGENT,
    ("put", "/api/agents/{agent_id}"): AGENT,
    ("get", "/api/agents/{agent_id}/status"): AGENT_STATUS,
    ("post", "/api/agents/reload"): AGENTS_RELOADED,
    ("post", "/api/upload"): ref("FileView"),
    ("get", "/api/upload/{file_id}"): ref("FileView"),
    ("delete", "/api/upload/{file_id}"): NOTHING,
    ("post", "/api/cad/parse"): ref("CadDrawing"),
    ("get", "/api/admin/stats"): ADMIN_STATS,
    ("get", "/api/admin/audit"): page_of(AUDIT_ENTRY),
    ("get", "/api/admin/audit/verify"): AUDIT_VERIFICATION,
    ("get", "/api/admin/usage"): page_of(USAGE_ROW),
    ("get", "/api/usage"): page_of(USAGE_ROW),
    ("post", "/api/admin/api-keys"): ISSUED_API_KEY,
    ("get", "/api/admin/api-keys"): page_of(API_KEY),
    ("delete", "/api/admin/api-keys/{key_id}"): API_KEY,
    ("put", BUDGET_PATH): BUDGET,
    ("get", BUDGET_PATH): BUDGET,
    ("delete", BUDGET_PATH): NOTHING,
    ("get", "/api/admin/users"): page_of(ADMINISTERED_USER),
    ("patch", "/api/admin/users/{user_id}"): ADMINISTERED_USER,
    ("post", "/api/admin/users/{user_id}/erase"): ERASED_USER,
    ("delete", "/api/auth/me"): ERASED_USER,
}
# Other successes than 200, and their `data`.
OTHER_DATA: dict[tuple[str, str], dict[int, tuple[str, Schema]]] = {
    ("post", "/api/cad/parse"): {
        202: (
            "A large drawing is being parsed by a job: ask again for the result",
            shape({"status": {"const": "processing"}, "fileId": STRING}),
        )
    },
}

# api/health.py and infrastructure/health.py; /health/detailed's checks say healthy,
# degraded or unhealthy, /health's services the spec's connection words.
CONNECTIONS = shape({"active": NUMBER, "idle": NUMBER, "total": NUMBER})
MILLISECONDS = {"type": "number", "description": "milliseconds"}
BODIES: dict[tuple[str, str], Schema] = {
    ("get", "/health"): shape(
        {
            "status": HEALTH,
            "timestamp": TIME,
            "services": shape(
                {
                    "database": {"enum": ["connected", "disconnected"]},
                    "redis": {"enum": ["connected", "disconnected", "in-process"]},
                    "queue": {"enum": ["running", "stopped"]},
                }
            ),
            "version": STRING,
        }
    ),
    ("get", "/health/detailed"): shape(
        {
            "status": HEALTH,
            "timestamp": TIME,
            "checks": shape(
                {
                    "database": shape(
                        {
                            "status": HEALTH,
                            "responseTime": MILLISECONDS,
                            "connections": CONNECTIONS,
                        },
                        error=STRING,
                    ),
                    "redis": shape(
                        {
                            "status": HEALTH,
                            "responseTime": MILLISECONDS,
                            "memory": shape({"used": STRING, "total": STRING}),
                        },
                        error=STRING,
                    ),
                    "queue": shape(
                        {
                            "status": HEALTH,
                            "jobs": shape(
                                {"waiting": NUMBER, "active": NUMBER, "completed": NUMBER}
                            ),
                        }
                    ),
                    "projections": shape(
                        {"status": HEALTH, "quarantined": {"type": ["integer", "null"]}},
                        quarantinedByProjection={
                            "type": "object",
                            "additionalProperties": NUMBER,
                        },
                        error=STRING,
                    ),
                }
            ),
        }
    ),
}
