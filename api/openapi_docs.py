"""The OpenAPI 3.1 document at /schema: Litestar's, completed with what it cannot infer.

Litestar documents each route from its signature. What it cannot see is added here, for
every route at once, when /schema/openapi.json is first served:

- the error envelope for each status a route can answer (OpenAI's error shape under /v1),
  instead of Litestar's own validation-error shape, which this API never sends;
- the success envelope where a handler returns a plain dict, with its `data`'s schema
  (api/openapi_answers.py), and the body of the other routes that return one, so
  schemathesis checks every answer's body, not only its status;
- SSE (`text/event-stream`) for the completions and the stream-resume routes;
- request bodies read by the handler itself (multipart uploads, the drawing parser);
- the bearer scheme, and which routes are public.

Interactive pages: Swagger UI at /schema and /schema/swagger, from the files of the installed
swagger-ui-bundle-v2 (served under /schema/assets, so the pages work with no internet), showing
the same completed document as /schema/openapi.json.
"""

import copy
import re
from typing import Any

from litestar import Request, Router
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from api.openapi_answers import BODIES, BUDGET_PATH, DATA, OTHER_DATA, STRUCT_SCHEMAS, ref

Operation = dict[str, Any]

BEARER = "bearerAuth"
PUBLIC = {("post", "/api/auth/register"), ("post", "/api/auth/login"), ("get", "/health")}
PUBLIC |= {("get", "/health/detailed")}
# Public, and nothing they answer depends on credentials (login and refresh check some).
WITHOUT_CREDENTIALS = {("post", "/api/auth/register"), ("get", "/health")}
WITHOUT_CREDENTIALS |= {("get", "/health/detailed")}
# A refresh token may come as the bearer or in the body.
BEARER_OPTIONAL = {("post", "/api/auth/refresh")}

CONFLICTS = {
    ("put", BUDGET_PATH),
    ("delete", BUDGET_PATH),
    ("post", "/api/auth/register"),
    ("post", "/api/chat/completions"),
    ("post", "/api/chat/sessions/save"),
    ("post", "/v1/chat/completions"),
}
NOT_FOUND_WITHOUT_PATH_PARAMETERS = {
    ("post", "/api/chat/completions"),  # the agent or the session
    ("post", "/v1/chat/completions"),  # the model
    ("post", "/api/cad/parse"),  # an uploaded file's id
}
PROVIDER_CALLS = {("post", "/api/chat/completions"), ("post", "/v1/chat/completions")}
BEFORE_ROUTING = {403, 429}
MULTIPART = {("post", "/api/upload"), ("post", "/api/cad/parse")}
# With `Accept: text/csv`, the rows of the page as CSV (api/usage.py).
CSV_TOO = {("get", "/api/admin/usage"), ("get", "/api/usage")}
DRAWING_READS = {("post", "/api/cad/parse"), ("get", "/api/cad/{file_id}/preview.svg")}

DESCRIPTIONS = {
    400: "The request is not valid",
    401: "Not authenticated",
    403: "Not permitted (role, scope or network allow-list)",
    404: "No such resource, or not the caller's",
    406: "The Accept header asks only for API versions this server does not serve",
    409: "Conflicts with the resource's current state",
    413: "The body is too large",
    415: "The body's type or format is not supported",
    416: "The byte range is not satisfiable",
    422: "The drawing is too complex to read within the limits (VALIDATION_ERROR)",
    429: "Too many requests; see Retry-After",
    500: "Unexpected server error",
    502: "The provider answered with something unusable",
    503: "A dependency (database, provider) is unavailable",
}

SCHEMAS: dict[str, Any] = {
    "ErrorEnvelope": {
        "type": "object",
        "required": ["code", "message", "error", "timestamp"],
        "properties": {
            "code": {"type": "string", "examples": ["VALIDATION_ERROR"]},
            "message": {"type": "string"},
            "error": {
                "type": "object",
                "required": ["type", "details"],
                "properties": {"type": {"type": "string"}, "details": {}},
            },
            "timestamp": {"type": "string", "format": "date-time"},
        },
    },
    "SuccessEnvelope": {
        "type": "object",
        "required": ["code", "message", "data", "timestamp"],
        "properties": {
            "code": {"const": "SUCCESS"},
            "message": {"type": "string"},
            "data": {},
            "timestamp": {"type": "string", "format": "date-time"},
        },
    },
    "OpenAIErrorBody": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["message", "type", "param", "code"],
                "properties": {
                    "message": {"type": "string"},
                    "type": {"type": "string"},
                    "param": {"type": ["string", "null"]},
                    "code": {"type": ["string", "null"]},
                },
            }
        },
    },
}


def success_with(data: dict[str, Any]) -> dict[str, Any]:
    return {"allOf": [ref("SuccessEnvelope"), {"type": "object", "properties": {"data": data}}]}


EVENT_STREAM = {
    "text/event-stream": {
        "schema": {
            "type": "string",
            "description": "Server-sent events. /api: `chunk` frames, then `end` or `error`, "
            "each with an `id:`; /v1: OpenAI's `data:` chunks, then `data: [DONE]`.",
        }
    }
}

CSV_ROWS = {
    "type": "string",
    "description": "A header line of the JSON rows' names, then one line per row",
}

UPLOAD_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {
        "file": {"type": "string", "format": "binary"},
        "type": {"type": "string", "enum": ["image", "document", "cad"]},
        "description": {"type": "string"},
    },
}
DRAWING_FORM = {
    "type": "object",
    "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary", "description": "a DXF"}},
}
DRAWING_REFERENCE = {
    "type": "object",
    "required": ["fileId"],
    "properties": {"fileId": {"type": "string"}},
}

METHODS = ("get", "put", "post", "delete", "patch")
PATH_PARAMETER = re.compile(r"\{[^}]+\}")


def error_statuses(method: str, path: str, operation: Operation) -> set[int]:
    key = (method, path)
    statuses = {403, 500, 503}  # allow-lists refuse any route; any route reads the database
    if not path.startswith("/health"):
        statuses.add(429)
    if key not in WITHOUT_CREDENTIALS:
        statuses.add(401)
    if operation.get("parameters") or operation.get("requestBody") or key in MULTIPART:
        statuses.add(400)
    if PATH_PARAMETER.search(path) or key in NOT_FOUND_WITHOUT_PATH_PARAMETERS:
        statuses.add(404)
    if path.startswith("/api/"):
        statuses.add(406)
    if key in CONFLICTS:
        statuses.add(409)
    if operation.get("requestBody") or key in MULTIPART:
        statuses.add(413)
    if key in MULTIPART:
        statuses.add(415)
    if key in DRAWING_READS:
        statuses.add(422)
    if key in PROVIDER_CALLS:
        statuses.add(502)
    if path.startswith("/uploads/"):
        statuses.add(416)
    return statuses


def error_body(path: str, status: int) -> dict[str, Any]:
    # Under /v1 the door answers OpenAI's shape; the allow-lists and the rate limit refuse
    # before routing, in the envelope, whatever the path.
    if path.startswith("/v1/") and status not in BEFORE_ROUTING:
        return ref("OpenAIErrorBody")
    if (path, status) == ("/v1/chat/completions", 429):
        # The rate limit's (before routing) or a spent budget's (insufficient_quota).
        return {"anyOf": [ref("ErrorEnvelope"), ref("OpenAIErrorBody")]}
    return ref("ErrorEnvelope")


def is_generic_object(schema: dict[str, Any]) -> bool:
    return not schema or (schema.get("type") == "object" and "properties" not in schema)


def document_errors(method: str, path: str, operation: Operation) -> None:
    responses = operation.setdefault("responses", {})
    for status in sorted(error_statuses(method, path, operation)):
        responses[str(status)] = {
            "description": DESCRIPTIONS[status],
            "content": {"application/json": {"schema": error_body(path, status)}},
        }
    if path.startswith("/health"):  # unhealthy is the health report itself, with 503
        responses["503"] = {**responses["200"], "description": "Unhealthy"}


def document_success(method: str, path: str, operation: Operation) -> None:
    ok = operation["responses"].get("200")
    if ok is None:
        return
    content = ok.get("content") or {}
    json_body = content.get("application/json")
    if json_body and is_generic_object(json_body.get("schema", {})):
        if path.startswith("/api/"):
            data = DATA.get((method, path))
            json_body["schema"] = success_with(data) if data else ref("SuccessEnvelope")
        elif (method, path) in BODIES:
            json_body["schema"] = BODIES[(method, path)]
    for status, (description, data) in OTHER_DATA.get((method, path), {}).items():
        answer = {"application/json": {"schema": success_with(data)}}
        operation["responses"][str(status)] = {"description": description, "content": answer}
    if (method, path) in CSV_TOO:
        ok["description"] = "The page as the envelope, or its rows as CSV with Accept: text/csv"
        content["text/csv"] = {"schema": CSV_ROWS}
    if (method, path) == ("post", "/api/chat/completions"):
        ok["description"] = "The reply: JSON, or SSE when `stream` is true"
        content.update(EVENT_STREAM)
    elif (method, path) == ("post", "/v1/chat/completions"):
        ok["description"] = "A chat.completion, or chat.completion.chunk events with `stream`"
        ok["content"] = {"application/json": {"schema": ref("ChatCompletion")}, **EVENT_STREAM}
    elif (method, path) == ("get", "/api/chat/streams/{message_id}"):
        ok["description"] = "The reply's frames after Last-Event-ID, then its live tail"
        ok["content"] = EVENT_STREAM
        operation["responses"]["204"] = {
            "description": "The reply has ended and nothing follows Last-Event-ID: stop"
        }
    elif path.endswith("/preview.svg"):
        ok["content"] = {"image/svg+xml": {"schema": {"type": "string"}}}
    elif path.startswith("/uploads/"):
        ok["description"] = "The file's bytes, with its own content type"
        binary = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
        ok["content"] = binary
        operation["responses"]["206"] = {"description": "One byte range", "content": binary}
        operation["responses"]["304"] = {
            "description": "If-None-Match names the current ETag: the caller's copy is current"
        }


def document_request(method: str, path: str, operation: Operation) -> None:
    if (method, path) == ("post", "/api/upload"):
        form = {"multipart/form-data": {"schema": UPLOAD_FORM}}
        operation["requestBody"] = {"required": True, "content": form}
    elif (method, path) == ("post", "/api/cad/parse"):
        content = {
            "multipart/form-data": {"schema": DRAWING_FORM},
            "application/json": {"schema": DRAWING_REFERENCE},
        }
        operation["requestBody"] = {"required": True, "content": content}
    elif (method, path) in BEARER_OPTIONAL:
        operation.setdefault("requestBody", {})["required"] = False
    if path.startswith("/uploads/"):
        operation.setdefault("parameters", []).extend(
            {"name": name, "in": "header", "required": False, "schema": {"type": "string"}}
            for name in ("Range", "If-Range", "If-None-Match")
        )


def document_security(method: str, path: str, operation: Operation) -> None:
    if (method, path) in PUBLIC:
        operation["security"] = []
    elif (method, path) in BEARER_OPTIONAL:
        operation["security"] = [{}, {BEARER: []}]


def completed(document: dict[str, Any]) -> dict[str, Any]:
    """A copy of Litestar's document with everything in this module's docstring added."""
    document = copy.deepcopy(document)
    components = document.setdefault("components", {}).setdefault("schemas", {})
    components.update(STRUCT_SCHEMAS)
    components.update(SCHEMAS)
    for path, item in document.get("paths", {}).items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            document_request(method, path, operation)
            document_success(method, path, operation)
            document_errors(method, path, operation)
            document_security(method, path, operation)
    return document


class CompletedDocument:
    """The completed document, made once and shared by every page that shows it."""

    def __init__(self) -> None:
        self.document: dict[str, Any] | None = None

    def of(self, openapi_schema: dict[str, Any]) -> dict[str, Any]:
        if self.document is None:
            self.document = completed(openapi_schema)
        return self.document


class CompletedJsonRenderPlugin(JsonRenderPlugin):
    """/schema/openapi.json: the completed document."""

    def __init__(self, document: CompletedDocument) -> None:
        super().__init__()
        self.document = document

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, self.document.of(openapi_schema))


DOCS_PATH = "/schema"
ASSETS = f"{DOCS_PATH}/assets"


class LocalSwaggerRenderPlugin(SwaggerRenderPlugin):
    """Swagger UI from the installed bundle, never a CDN, showing the completed document
    (Litestar's plugin would embed its own, uncompleted one)."""

    def __init__(self, document: CompletedDocument, path: list[str]) -> None:
        super().__init__(
            js_url=f"{ASSETS}/swagger-ui-bundle.js",
            css_url=f"{ASSETS}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS}/favicon-32x32.png'>",
            path=path,
        )
        self.document = document

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, self.document.of(openapi_schema))


def documentation_assets() -> Router:
    """Swagger UI's scripts, styles and icons, from the installed swagger-ui-bundle-v2."""
    return create_static_files_router(path=ASSETS, directories=[swagger_ui_path], name="docs")


def openapi_config(version: str) -> OpenAPIConfig:
    document = CompletedDocument()
    return OpenAPIConfig(
        title="LLMChat API",
        version=version,
        summary="Many AI providers behind one REST, SSE and WebSocket API",
        description="Every /api answer is the envelope (`code`, `message`, `data` or `error`, "
        "`timestamp`). /v1 speaks OpenAI's chat-completions format. Authenticate with "
        "`Authorization: Bearer <access token or llmk_ API key>`.",
        path=DOCS_PATH,
        render_plugins=[
            LocalSwaggerRenderPlugin(document, path=["/", "/swagger"]),
            CompletedJsonRenderPlugin(document),
        ],
        components=Components(
            security_schemes={
                BEARER: SecurityScheme(
                    type="http",
                    scheme="bearer",
                    description="An access token (JWT) or an API key (llmk_...)",
                )
            }
        ),
        security=[{BEARER: []}],
        use_handler_docstrings=True,
    )
