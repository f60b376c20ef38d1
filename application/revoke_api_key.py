"""RevokeApiKey: the key stops working at once, on every instance (keys are read per use)."""

from dataclasses import dataclass

from application.api_keys import ApiKeys, load_key
from application.errors import NotFound
from application.retry import rerun_on_conflict
from domain.api_key import ApiKey


@dataclass(frozen=True, slots=True)
class RevokeApiKey:
    key_id: str
    revoked_by: str


@rerun_on_conflict
def revoke_api_key(keys: ApiKeys, command: RevokeApiKey) -> ApiKey:
    key = keys.repository.get(ApiKey, command.key_id)
    if key is None:
        raise NotFound("API key not found", f"no key {command.key_id}")
    if key.revoke(command.revoked_by) is None:
        return key
    keys.repository.save(key)
    reloaded = load_key(keys.store, key.id)  # with the revocation's stored time
    assert reloaded is not None
    return reloaded
