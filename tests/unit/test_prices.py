"""The price file and the prices it gives each day."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from domain.prices import Price, PriceList, cost
from infrastructure.prices_file import read_prices
from infrastructure.settings import SettingsError

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "prices.example.json"


def test_the_shipped_example_reads() -> None:
    prices = read_prices(str(EXAMPLE))

    assert prices.currency == "USD"
    assert prices.price_on("openai", "gpt-4o", date(2024, 9, 30)) == Price(
        date(2024, 5, 13), Decimal("5.0"), Decimal("15.0"), Decimal("5.0")
    )


def test_each_price_applies_from_its_day_until_the_next() -> None:
    old = Price(date(2025, 1, 1), Decimal(2), Decimal(8), Decimal(1))
    new = Price(date(2025, 6, 1), Decimal(1), Decimal(4), Decimal("0.5"))
    prices = PriceList("USD", {("openai", "m"): [old, new]})

    assert prices.price_on("openai", "m", date(2024, 12, 31)) is None
    assert prices.price_on("openai", "m", date(2025, 5, 31)) == old
    assert prices.price_on("openai", "m", date(2025, 6, 1)) == new
    assert prices.price_on("anthropic", "m", date(2025, 6, 1)) is None


def test_cost_prices_cached_prompt_tokens_at_their_own_price() -> None:
    price = Price(date(2025, 1, 1), Decimal(2), Decimal(8), Decimal(1))

    # 7 uncached at 2, 4 cached at 1, 32 completion at 8, per million.
    assert cost(price, prompt=11, completion=32, cached=4) == Decimal(274) / 1_000_000


def write(tmp_path: Path, document: object) -> str:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(document))
    return str(path)


def test_cached_input_defaults_to_the_input_price(tmp_path: Path) -> None:
    path = write(
        tmp_path, {"prices": {"p": {"m": [{"from": "2025-01-01", "input": 3, "output": 4}]}}}
    )

    price = read_prices(path).price_on("p", "m", date(2025, 1, 1))

    assert price is not None and price.cached_input == Decimal(3)


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ({"prices": {"p": {"m": [{"from": "2025-01-01", "input": -1, "output": 4}]}}}, "input"),
        ({"prices": {"p": {"m": [{"from": "2025-02-30", "input": 1, "output": 4}]}}}, "from"),
        ({"prices": {"p": {"m": [{"from": "2025-01-01", "input": 1}]}}}, "output"),
        ({"prices": {"p": {"m": [{"from": "2025-01-01", "input": 1, "output": 1, "x": 1}]}}}, "x"),
        (
            {
                "prices": {
                    "p": {
                        "m": [
                            {"from": "2025-01-01", "input": 1, "output": 1},
                            {"from": "2025-01-01", "input": 2, "output": 2},
                        ]
                    }
                }
            },
            "same day",
        ),
    ],
)
def test_a_bad_price_file_stops_the_start_naming_the_variable_and_the_problem(
    tmp_path: Path, document: object, named: str
) -> None:
    with pytest.raises(SettingsError) as raised:
        read_prices(write(tmp_path, document))

    assert str(raised.value).startswith("LLMCHAT_PRICES_FILE: ")
    assert named in str(raised.value)


def test_a_missing_price_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match=r"LLMCHAT_PRICES_FILE: .*cannot read"):
        read_prices(str(tmp_path / "nowhere.json"))
