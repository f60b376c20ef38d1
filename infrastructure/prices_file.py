"""The price file (`LLMCHAT_PRICES_FILE`): prices per million tokens, per provider and model.

    {"currency": "USD",
     "prices": {"openai": {"gpt-4o": [
        {"from": "2024-05-13", "input": 5, "output": 15, "cachedInput": 2.5}]}}}

Each model's prices apply from their `from` day (UTC) until the next one's. `cachedInput`
may be left out: cached prompt tokens then cost as much as the others. Read at start by
every process that applies projections (serve without --no-workers, worker, and the
`projections rebuild` command); a file that cannot be used stops the start.
"""

from datetime import date
from decimal import Decimal
from pathlib import Path

import msgspec

from domain.prices import Price, PriceList
from infrastructure.settings import SettingsError, env_name

MAX_PRICE = Decimal(1_000_000)
"""Per million tokens; far above any real price, so a slip of the decimal point shows."""


class _Price(msgspec.Struct, forbid_unknown_fields=True, rename={"since": "from"}):
    since: date
    input: Decimal
    output: Decimal
    cachedInput: Decimal | None = None


class _PriceFile(msgspec.Struct, forbid_unknown_fields=True):
    prices: dict[str, dict[str, list[_Price]]]
    currency: str = "USD"


def read_prices(path: str | None) -> PriceList:
    """The price list; with no file, no prices (every reply is counted, none is priced)."""
    if path is None:
        return PriceList()
    name = env_name("prices_file")
    try:
        raw = Path(path).read_bytes()
    except OSError as error:
        raise SettingsError(f"{name}: {path}: cannot read: {error.strerror}") from None
    try:
        document = msgspec.json.decode(raw, type=_PriceFile)
    except msgspec.DecodeError as error:
        raise SettingsError(f"{name}: {path}: {error}") from None
    try:
        return price_list(document)
    except ValueError as error:
        raise SettingsError(f"{name}: {path}: {error}") from None


def price_list(document: _PriceFile) -> PriceList:
    if not document.currency.strip() or len(document.currency) > 16:
        raise ValueError("currency: expected a currency code such as USD")
    prices: dict[tuple[str, str], list[Price]] = {}
    for provider, models in document.prices.items():
        for model, entries in models.items():
            where = f"prices.{provider}.{model}"
            prices[provider, model] = sorted(
                (checked(where, entry) for entry in entries), key=lambda p: p.since
            )
            days = [p.since for p in prices[provider, model]]
            if len(set(days)) != len(days):
                raise ValueError(f"{where}: two prices from the same day")
    return PriceList(document.currency.strip(), prices)


def checked(where: str, entry: _Price) -> Price:
    cached = entry.input if entry.cachedInput is None else entry.cachedInput
    for name, value in (("input", entry.input), ("output", entry.output), ("cachedInput", cached)):
        if not value.is_finite() or not 0 <= value <= MAX_PRICE:
            raise ValueError(f"{where}: {name}: must be 0 to {MAX_PRICE} per million tokens")
    return Price(entry.since, entry.input, entry.output, cached)
