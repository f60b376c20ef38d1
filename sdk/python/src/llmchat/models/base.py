"""The base of every response type: camelCase on the wire, unknown fields ignored."""

from typing import Generic, TypeVar

import msgspec

ItemT = TypeVar("ItemT")
DataT = TypeVar("DataT")


class Model(msgspec.Struct, rename="camel", kw_only=True):
    """A response object; fields the server adds later are ignored, not an error."""


class Pagination(Model):
    page: int
    limit: int
    total: int
    total_pages: int


class Page(Model, Generic[ItemT]):
    """One page of a paginated list: `items` and where they are in the whole."""

    items: list[ItemT]
    pagination: Pagination


class Envelope(Model, Generic[DataT], kw_only=True):
    """The success envelope `{code, message, data, timestamp}`."""

    code: str
    message: str = ""
    data: DataT
    timestamp: str = ""
