"""Prices per million tokens, per provider and model, each from the day it applies.

Cost is never stored in an event: the usage projection prices each reply with the price
that applied on its day, so a corrected price file and a rebuild re-price all history.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

PER = Decimal(1_000_000)


@dataclass(frozen=True, slots=True)
class Price:
    since: date
    """The first day (UTC) this price applies to."""
    input: Decimal
    output: Decimal
    cached_input: Decimal
    """For prompt tokens read from the provider's cache."""


@dataclass(frozen=True, slots=True)
class PriceList:
    currency: str = "USD"
    prices: Mapping[tuple[str, str], Sequence[Price]] = field(default_factory=dict)
    """(provider, model) -> its prices, oldest first."""

    def price_on(self, provider: str, model: str, day: date) -> Price | None:
        """The price that applied on `day`: the latest that began on or before it."""
        applying = None
        for price in self.prices.get((provider, model), ()):
            if price.since > day:
                break
            applying = price
        return applying


def cost(price: Price, prompt: int, completion: int, cached: int) -> Decimal:
    """What one reply cost. Tokens written to a cache are priced as input: the price file
    has no price of its own for them."""
    uncached = max(prompt - cached, 0)
    spent = uncached * price.input + cached * price.cached_input + completion * price.output
    return spent / PER
