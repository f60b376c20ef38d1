"""CreateApiKey: a new key for a service account; its secret is returned this once only."""

import secrets
from dataclasses import dataclass

from application.accounts import append_or_conflict, new_id
from application.api_keys import ApiKeys
from application.errors import Conflict, ValidationFailed
from application.ports import PendingEvent
from domain.api_key import CATALOGUE_ID, ApiKey, ApiKeyCatalogued, format_key


@dataclass(frozen=True, slots=True)
class CreateApiKey:
    name: str
    role: str
    scopes: tuple[str, ...]
    created_by: str


@dataclass(frozen=True, slots=True)
class IssuedApiKey:
    key: ApiKey
    secret: str  # the whole presentable key, llmk_...


def create_api_key(keys: ApiKeys, command: CreateApiKey) -> IssuedApiKey:
    key_id = new_id()
    secret = secrets.token_urlsafe(32)
    try:
        created = ApiKey.create(
            key_id, command.name, command.role, command.scopes, secret, command.created_by
        )
    except ValueError as error:
        raise ValidationFailed("Invalid API key", str(error)) from None
    # The key and its catalogue entry commit together; a concurrent creation takes the
    # same catalogue version, loses, and tries again with the next one.
    for _ in range(10):
        listed = len(keys.store.read(CATALOGUE_ID))
        entry = ApiKeyCatalogued(key_id=key_id)
        events = [PendingEvent(key_id, 1, created), PendingEvent(CATALOGUE_ID, listed + 1, entry)]
        if append_or_conflict(keys.store, events):
            stored = keys.store.read(key_id)
            key = ApiKey.replay([(r.event, r.timestamp) for r in stored])
            return IssuedApiKey(key, format_key(key_id, secret))
    raise Conflict("Too many keys created at once; try again")
