"""ApiKeyList: a page of keys, newest first; secrets are never part of it."""

from dataclasses import dataclass

from application.api_keys import ApiKeys, catalogued, load_key
from domain.api_key import ApiKey


@dataclass(frozen=True, slots=True)
class ApiKeyPage:
    keys: list[ApiKey]
    total: int


def list_api_keys(keys: ApiKeys, page: int, limit: int) -> ApiKeyPage:
    listed = catalogued(keys.store)
    newest_first = listed[::-1][(page - 1) * limit : page * limit]
    found = [load_key(keys.store, key_id) for key_id in newest_first]
    return ApiKeyPage([key for key in found if key is not None], len(listed))
