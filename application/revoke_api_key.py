"""RevokeApiKey: the key stops working at once, on every instance (keys are read per use)."""

from dataclasses import dataclass

from application.accounts import append_or_conflict
from application.api_keys import ApiKeys, load_key
from application.errors import NotFound
from application.ports import PendingEvent
from domain.api_key import ApiKey


@dataclass(frozen=True, slots=True)
class RevokeApiKey:
    key_id: str
    revoked_by: str


def revoke_api_key(keys: ApiKeys, command: RevokeApiKey) -> ApiKey:
    for _ in range(5):
        key = load_key(keys.store, command.key_id)
        if key is None:
            raise NotFound("API key not found", f"no key {command.key_id}")
        revoked = key.revoke(command.revoked_by)
        if revoked is None:
            return key
        if append_or_conflict(keys.store, [PendingEvent(key.id, key.version + 1, revoked)]):
            reloaded = load_key(keys.store, key.id)
            assert reloaded is not None
            return reloaded
    raise NotFound("API key not found", f"no key {command.key_id}")
