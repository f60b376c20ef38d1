"""AuthenticateApiKey: who presents this key, if it exists, matches and is not revoked."""

from dataclasses import dataclass

from application.accounts import record
from application.api_keys import ApiKeyClaims, ApiKeys, claims_of, load_key
from application.errors import Unauthorized
from domain.api_key import ApiKeyUsed, parse_key


@dataclass(frozen=True, slots=True)
class AuthenticateApiKey:
    key: str
    ip: str
    user_agent: str


def authenticate_api_key(keys: ApiKeys, command: AuthenticateApiKey) -> ApiKeyClaims:
    parsed = parse_key(command.key)
    if parsed is None:
        raise Unauthorized("Invalid API key")
    key_id, secret = parsed
    # Read from the store on every use: a revocation holds on every instance at once.
    key = load_key(keys.store, key_id)
    if key is None or not key.matches(secret):
        raise Unauthorized("Invalid API key")
    if key.revoked:
        raise Unauthorized("API key revoked")
    if keys.use_audit.due(key.id):
        record(keys.store, ApiKeyUsed(key_id=key.id, ip=command.ip, user_agent=command.user_agent))
    return claims_of(key)
