"""Text as the event log can hold it.

PostgreSQL's `text` and `jsonb` cannot hold U+0000, and no UTF-8 can hold a lone surrogate
(U+D800..U+DFFF), so an event carrying either is one no read model can ever apply. Text a
person sends is refused (`unstorable_at`); text that merely comes from outside (a parser's
message, a provider's error, a header) is cleaned and bounded (`storable`).
"""

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable_at(text: str) -> int | None:
    """Where the first character no event may hold is, or None if there is none."""
    found = _UNSTORABLE.search(text)
    return None if found is None else found.start()


def describe_unstorable(text: str) -> str:
    """What is wrong with text `unstorable_at` found fault with, for an error message."""
    index = unstorable_at(text)
    assert index is not None
    return f"must not contain U+{ord(text[index]):04X} (character {index})"


def cleaned(text: str) -> str:
    """`text` without the characters no event may hold."""
    return _UNSTORABLE.sub("", text) if _UNSTORABLE.search(text) else text


def storable(text: str, limit: int) -> str:
    """`text` without the characters no event may hold, at most `limit` characters long."""
    return cleaned(text)[:limit]
