"""Continuing a reply that broke off: what the provider is told, and the seam where the
stored text and the continuation meet.

A model asked to continue a text often starts by repeating its last few words. The stored
text was already sent to the client, so what it repeats is dropped at the seam: the
longest tail of the stored text (at most MAX_OVERLAP characters) that the continuation
starts with, if it is long enough (MIN_OVERLAP) not to be a coincidence, or whitespace
(Anthropic's prefill may not end with whitespace, so the model writes that again).
"""

MAX_OVERLAP = 64
MIN_OVERLAP = 5

CUT_OFF = "Your answer was cut off."
CONTINUE_INSTRUCTION = (
    f"{CUT_OFF} Continue it from exactly where it stopped, mid-word or mid-sentence if "
    "need be: write only the rest, without repeating anything, starting over or commenting."
)
PARTIAL_OPEN, PARTIAL_CLOSE = "<partial>", "</partial>"


def instruction_with(partial: str) -> str:
    """The instruction for a provider that keeps its history itself and takes one question
    (FastGPT, Dify): the partial answer goes inside it, last, between the tags."""
    return (
        f"{CONTINUE_INSTRUCTION} It ended with the text inside the partial tags below.\n"
        f"{PARTIAL_OPEN}{partial}{PARTIAL_CLOSE}"
    )


def prefill(partial: str) -> str:
    """The partial answer as an assistant prefill: without the trailing whitespace that
    Anthropic refuses there."""
    return partial.rstrip()


def _tails(stored: str) -> list[str]:
    return [stored[-k:] for k in range(min(len(stored), MAX_OVERLAP), 0, -1)]


def _counts(tail: str) -> bool:
    return len(tail) >= MIN_OVERLAP or tail.isspace()


def overlap(stored: str, continuation: str) -> int:
    """How many leading characters of `continuation` repeat the end of `stored`."""
    for tail in _tails(stored):
        if _counts(tail) and continuation.startswith(tail):
            return len(tail)
    return 0


def settled(stored: str, head: str) -> bool:
    """Whether the continuation's first characters `head` decide its overlap: no longer
    countable tail of `stored` could still be what it starts with."""
    return not any(
        len(tail) > len(head) and _counts(tail) and tail.startswith(head) for tail in _tails(stored)
    )


class Seam:
    """A continuation's first characters, held until they decide the overlap with `stored`
    (see `settled`), then passed on without what they repeat; the rest passes at once."""

    __slots__ = ("head", "open", "stored")

    def __init__(self, stored: str) -> None:
        self.stored = stored
        self.head = ""
        self.open = True

    def take(self, text: str) -> str:
        """What of `text` goes on to the reply now."""
        if not self.open:
            return text
        self.head += text
        return self.close() if settled(self.stored, self.head) else ""

    def close(self) -> str:
        """The held characters, without their overlap (the continuation ended, or decided)."""
        if not self.open:
            return ""
        self.open = False
        head, self.head = self.head, ""
        return head[overlap(self.stored, head) :]
