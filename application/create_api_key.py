"""CreateApiKey: a new key for a service account; its secret is returned this once only."""

import secrets
from dataclasses import dataclass

from application.accounts import new_id
from application.api_keys import ApiKeys, load_key
from application.errors import ValidationFailed
from application.retry import rerun_on_conflict
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
        key = ApiKey.create(
            key_id, command.name, command.role, command.scopes, secret, command.created_by
        )
    except ValueError as error:
        raise ValidationFailed("Invalid API key", str(error)) from None
    catalogue(keys, key)
    stored = load_key(keys.store, key_id)
    assert stored is not None
    return IssuedApiKey(stored, format_key(key_id, secret))


@rerun_on_conflict
def catalogue(keys: ApiKeys, key: ApiKey) -> None:
    """The key and its catalogue entry commit together; a concurrent creation takes the
    same catalogue version, loses, and runs again at the next one."""
    listing = keys.repository.head(CATALOGUE_ID)
    listing.trigger(ApiKeyCatalogued(key_id=key.id))
    keys.repository.save(key, listing)
