"""Token usage as the ledger keeps it, and how it is estimated when a provider says nothing.

The estimate is deliberately simple and always marked as one: no tokenizer that works
offline fits every provider (tiktoken downloads its encodings at run time, and each
model family has its own), so a figure we count is never passed off as the provider's.
"""

import math
from collections.abc import Iterable

CHARS_PER_TOKEN = 4
"""About four characters of English (ASCII) text make a token in OpenAI's and Anthropic's
tokenizers; most other characters (CJK, emoji, accented letters) take a token or more each."""
MESSAGE_OVERHEAD = 4
"""Tokens a chat format adds per message (role and separators), as OpenAI documents."""
REPLY_PRIMING = 3
"""Tokens that start the assistant's answer in a chat prompt."""
MAX_TOKENS = 10**12
"""Far above any real answer: a figure beyond it from a provider is not believed."""


def estimated_tokens(text: str) -> int:
    ascii_chars = len(text.encode("ascii", "ignore"))
    return math.ceil(ascii_chars / CHARS_PER_TOKEN) + len(text) - ascii_chars


def estimated_prompt_tokens(contents: Iterable[str]) -> int:
    return REPLY_PRIMING + sum(MESSAGE_OVERHEAD + estimated_tokens(c) for c in contents)


def token_count(reported: int) -> int:
    """A provider's figure as an event may keep it: a whole number of tokens, not negative."""
    return min(max(reported, 0), MAX_TOKENS)
