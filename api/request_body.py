"""What a request sends, checked once where it is read, before any use case sees it.

Every JSON value a client sends (Litestar's `data`, each WebSocket message, /api/cad's body)
is decoded here, and so are the query string and the text fields of a form: JSON nested too
deep for the decoder is a 400, not a RecursionError, and no string anywhere may hold a
character no event can store (domain/text.py). The 400 names the field as the client wrote
it (`messages[0].content`), so no route needs a check of its own.
"""

from collections.abc import Iterable
from typing import Any

import msgspec
from litestar import Request

from application.errors import ValidationFailed
from domain.text import describe_unstorable, unstorable_at

TOO_DEEP = "body: nested too deeply"


class UnstorableText(ValidationFailed):
    """A 400 naming the field whose text holds a character no event can store."""

    def __init__(self, field: str, text: str) -> None:
        super().__init__("Request validation failed", f"{field}: {describe_unstorable(text)}")
        self.field = field


def joined(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def refuse_unstorable(value: Any, where: str = "") -> None:
    """UnstorableText for the first string (or object key) in a decoded JSON value that holds
    a character no event can store. Iterative: the value may be as deep as the decoder allows."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if unstorable_at(item) is not None:
                raise UnstorableText(path or "body", item)
        elif isinstance(item, dict):
            children = []
            for key, child in item.items():
                if unstorable_at(key) is not None:
                    raise UnstorableText(joined(path, ascii(key)), key)
                children.append((child, joined(path, key)))
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(child, f"{path}[{i}]") for i, child in enumerate(item)]))


def parsed_json(raw: str | bytes) -> Any:
    """A JSON value from a client, not yet checked for unstorable text."""
    try:
        return msgspec.json.decode(raw)
    except RecursionError:
        raise ValidationFailed("Request validation failed", TOO_DEEP) from None
    except msgspec.DecodeError as error:
        raise ValidationFailed("Request validation failed", str(error)) from None


def decoded_json(raw: str | bytes) -> Any:
    """A JSON value from a client, checked as every request body is."""
    value = parsed_json(raw)
    refuse_unstorable(value)
    return value


def refuse_unstorable_fields(fields: Iterable[tuple[str, Any]]) -> None:
    """The same check over named text fields: a query string's, a form's."""
    for name, value in fields:
        if unstorable_at(name) is not None:
            raise UnstorableText(ascii(name), name)
        if isinstance(value, str) and unstorable_at(value) is not None:
            raise UnstorableText(name, value)


class CheckedRequest(Request[Any, Any, Any]):
    """Litestar's request, whose JSON body is checked as `decoded_json` checks it."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise ValidationFailed("Request validation failed", TOO_DEEP) from None
        refuse_unstorable(value)
        return value


async def refuse_unstorable_query(request: Request[Any, Any, Any]) -> None:
    """Before each handler: query parameters reach SQL filters and events too."""
    refuse_unstorable_fields(request.query_params.multi_items())
