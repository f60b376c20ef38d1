"""Ids as the system writes them: UUIDs in their one canonical form.

`uuid.UUID` also reads `urn:uuid:…`, `{…}`, upper case and unhyphenated forms, and
PostgreSQL's `uuid` type does not read all of them; an id in any form but the canonical one
would be one id under two spellings, or an event no read model can apply. So an id from
outside is taken only as `str(uuid.UUID(...))` would write it.
"""

import re

_HEX_GROUPS = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_CANONICAL = re.compile(_HEX_GROUPS)
# For schemas and validators that take a whole-string pattern (JSON Schema, OpenAPI).
CANONICAL_PATTERN = f"^{_HEX_GROUPS}$"


def is_uuid(value: str) -> bool:
    """True only for a UUID in canonical form: 36 characters, lower case, hyphenated."""
    return _CANONICAL.fullmatch(value) is not None
