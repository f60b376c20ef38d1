"""Usage as the reply's events keep it: old events still replay, figures are sane."""

import msgspec

from application.provider import ChatTurn, ProviderRequest, Usage
from application.run_reply import settled_usage
from domain.conversation import ReplyFinished
from domain.reply_stream import ReplyClosed
from domain.usage import MAX_TOKENS, estimated_prompt_tokens, estimated_tokens

REQUEST = ProviderRequest(
    provider="openai",
    endpoint="http://127.0.0.1:1/v1",
    api_key="",
    model="gpt",
    messages=[ChatTurn("system", "Be brief."), ChatTurn("user", "Hello there")],
    session_id="s",
    user_id="u",
)


def test_events_stored_before_the_ledger_replay_with_empty_usage_details() -> None:
    finished = msgspec.json.decode(
        b'{"session_id": "s", "message_id": "m", "outcome": "completed", "content": "hi",'
        b' "finish_reason": "stop", "prompt_tokens": 3, "completion_tokens": 1}',
        type=ReplyFinished,
    )
    closed = msgspec.json.decode(
        b'{"outcome": "completed", "finish_reason": "stop", "prompt_tokens": 3}',
        type=ReplyClosed,
    )

    assert (finished.prompt_tokens, finished.cached_tokens, finished.usage_estimated) == (
        3,
        0,
        False,
    )
    assert finished.user_id is None and finished.provider is None and finished.model is None
    assert (closed.cached_tokens, closed.reasoning_tokens, closed.usage_estimated) == (0, 0, False)


def test_reported_figures_are_kept_as_they_are() -> None:
    reported = Usage(11, 32, 43, cached_tokens=4, cache_write_tokens=2, reasoning_tokens=3)

    assert settled_usage(REQUEST, "text", reported) == reported


def test_impossible_figures_are_bounded_before_they_become_an_event() -> None:
    reported = Usage(-5, 10**15, 0, cached_tokens=50, cache_write_tokens=9, reasoning_tokens=-1)

    settled = settled_usage(REQUEST, "text", reported)

    assert settled == Usage(0, MAX_TOKENS, MAX_TOKENS, 0, 0, 0)


def test_no_report_is_estimated_from_the_text_and_marked() -> None:
    settled = settled_usage(REQUEST, "Hello! 你好", None)

    prompt = estimated_prompt_tokens(["Be brief.", "Hello there"])
    assert settled == Usage(prompt, 2 + 2, prompt + 4, estimated=True)


def test_a_reply_that_never_answered_costs_nothing() -> None:
    assert settled_usage(REQUEST, "", None) is None


def test_the_estimate_counts_four_ascii_characters_a_token_and_others_one_each() -> None:
    assert estimated_tokens("") == 0
    assert estimated_tokens("abcd") == 1
    assert estimated_tokens("abcde") == 2
    assert estimated_tokens("你好🚀") == 3
