"""Runs one reply: asks the provider, stores what arrives, and records how it ended.

The run belongs to the server, not to the request that started it: a client that goes away
does not stop it, so the reply is finished and stored either way.
"""

import asyncio
import logging
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from application.budgets import Reservation
from application.fallbacks import (
    MAX_ERROR_MESSAGE,
    REJECTED,
    Target,
    Targets,
    error_text,
    failed_attempt,
    failure_reason,
)
from application.provider import (
    ChatProvider,
    ProviderBadResponse,
    ProviderError,
    ProviderRejected,
    ProviderRequest,
    Usage,
)
from application.reply_recorder import ReplyOutcome, ReplyRecorder
from domain.continuation import Seam
from domain.conversation import ReplyFinished
from domain.reply_stream import ReplyClosed
from domain.text import storable
from domain.usage import estimated_prompt_tokens, estimated_tokens, token_count

if TYPE_CHECKING:
    from application.chat import Chat

log = logging.getLogger("llmchat.chat")

# What a reply's events keep of a provider's conversation id.
MAX_PROVIDER_ID = 256
MAX_MODEL = 256
# How long a reply handed over at shutdown may take to store what it holds (the server's
# wait for its replies to stop is 5 s).
HAND_OVER_WITHIN = 4.0


@dataclass(frozen=True, slots=True)
class Billing:
    """Whom a reply's usage is counted for: the caller (an API key's service account when
    ``api_key_id`` is set) and the agent it asked."""

    user_id: str
    api_key_id: str | None
    agent_id: str
    reservation: Reservation | None = None
    """Its worst case, held on the caller's budgets until the reply settles it."""


class Progress:
    """What the provider has told us so far."""

    def __init__(self, request: ProviderRequest | None = None, billing: Billing | None = None):
        self.request = request
        self.billing = billing
        self.started = time.perf_counter()
        self.first_chunk: float | None = None
        self.usage: Usage | None = None
        self.finish_reason: str | None = None
        self.provider_conversation_id: str | None = None
        self.spent: Usage | None = None
        """What the attempts before this one used (each broke off mid-answer)."""
        self.attempt_from = 0
        """Where in the reply's text this attempt's words begin."""
        self.continuations = 0

    def spend(self, text: str) -> Usage | None:
        """End this attempt: what it used joins `spent`, the next one starts counting."""
        used = None if self.request is None else self.attempt_usage(text)
        self.spent = summed(self.spent, used)
        self.usage, self.attempt_from = None, len(text)
        return used

    def attempt_usage(self, text: str) -> Usage | None:
        assert self.request is not None
        return settled_usage(self.request, text[self.attempt_from :], self.usage)


async def stream_into(
    provider: ChatProvider, request: ProviderRequest, recorder: ReplyRecorder, progress: Progress
) -> None:
    # A continuation's first characters may repeat the stored tail, which was sent already.
    seam = Seam(request.continues) if request.continues else None
    async for chunk in provider.stream(request):
        text = seam.take(chunk.text) if seam and chunk.text else chunk.text
        if seam and chunk.finish_reason is not None:
            text += seam.close()
        if text:
            recorder.add(text)
            if progress.first_chunk is None:
                progress.first_chunk = time.perf_counter() - progress.started
            if recorder.others_waiting:
                # A burst already received is parsed without a pause: let the storing and
                # sending of what came before it have the loop in between.
                await asyncio.sleep(0)
        progress.usage = chunk.usage or progress.usage
        progress.finish_reason = chunk.finish_reason or progress.finish_reason
        progress.provider_conversation_id = (
            chunk.provider_conversation_id or progress.provider_conversation_id
        )


async def complete_into(
    provider: ChatProvider, request: ProviderRequest, recorder: ReplyRecorder, progress: Progress
) -> None:
    completion = await provider.complete(request)
    progress.first_chunk = time.perf_counter() - progress.started
    if completion.text:
        recorder.add(completion.text)
    progress.usage = completion.usage
    progress.finish_reason = completion.finish_reason
    progress.provider_conversation_id = completion.provider_conversation_id


def outcome(
    recorder: ReplyRecorder,
    progress: Progress,
    kind: str,
    finish_reason: str,
    error: tuple[str, str] | None = None,
) -> ReplyOutcome:
    request = progress.request
    reported = progress.usage
    settled = reported if request is None else progress.attempt_usage(recorder.text)
    usage = summed(progress.spent, settled) or Usage(0, 0, 0)
    code, message = error if error else (None, None)
    conversation_id = progress.provider_conversation_id
    billing = progress.billing
    finished = ReplyFinished(
        session_id=recorder.session_id,
        message_id=recorder.message_id,
        outcome=kind,
        content=recorder.text,
        finish_reason=finish_reason,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        error_code=code,
        error_message=message,
        provider_conversation_id=conversation_id and storable(conversation_id, MAX_PROVIDER_ID),
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        usage_estimated=usage.estimated,
        user_id=billing.user_id if billing else None,
        api_key_id=billing.api_key_id if billing else None,
        agent_id=billing.agent_id if billing else None,
        provider=request.provider if request else None,
        model=storable(request.model, MAX_MODEL) if request else None,
    )
    closed = ReplyClosed(
        outcome=kind,
        finish_reason=finish_reason,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        error_code=code,
        error_message=message,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        usage_estimated=usage.estimated,
        continuations=progress.continuations,
    )
    return ReplyOutcome(finished, closed)


def reported_usage(usage: Usage) -> Usage:
    """A provider's figures as an event may keep them: counts, and parts within their whole."""
    prompt = token_count(usage.prompt_tokens)
    completion = token_count(usage.completion_tokens)
    cached = min(token_count(usage.cached_tokens), prompt)
    return Usage(
        prompt,
        completion,
        prompt + completion,
        cached_tokens=cached,
        cache_write_tokens=min(token_count(usage.cache_write_tokens), prompt - cached),
        reasoning_tokens=min(token_count(usage.reasoning_tokens), completion),
        estimated=usage.estimated,
    )


def settled_usage(request: ProviderRequest, text: str, reported: Usage | None) -> Usage | None:
    """The provider's usage; if it reported none but answered, our estimate, marked so.

    A reply that failed before a word came is counted as nothing: a provider that refused
    or could not be reached bills nothing either.
    """
    if reported is not None:
        return reported_usage(reported)
    if not text:
        return None
    said = [turn.content for turn in request.messages]
    prompt = estimated_prompt_tokens([*said, request.continues] if request.continues else said)
    completion = estimated_tokens(text)
    return Usage(prompt, completion, prompt + completion, estimated=True)


def summed(spent: Usage | None, more: Usage | None) -> Usage | None:
    """Two attempts' usage as one; estimated if either was."""
    if spent is None or more is None:
        return more or spent
    return Usage(
        spent.prompt_tokens + more.prompt_tokens,
        spent.completion_tokens + more.completion_tokens,
        spent.total_tokens + more.total_tokens,
        cached_tokens=spent.cached_tokens + more.cached_tokens,
        cache_write_tokens=spent.cache_write_tokens + more.cache_write_tokens,
        reasoning_tokens=spent.reasoning_tokens + more.reasoning_tokens,
        estimated=spent.estimated or more.estimated,
    )


def provider_error(error: ProviderError) -> tuple[str, str]:
    code = "BAD_GATEWAY" if isinstance(error, ProviderBadResponse) else "SERVICE_UNAVAILABLE"
    text = error_text(error)
    if isinstance(error, ProviderRejected):
        # A fault of the agent's configuration: say so, since no fallback is asked for it.
        hint = " (refused: check the agent's apiKey, model and settings; no fallback is asked)"
        text = storable(text, MAX_ERROR_MESSAGE - len(hint)) + hint
    return code, text


async def ask(target: Target, recorder: ReplyRecorder, progress: Progress, stream: bool) -> None:
    if stream:
        await stream_into(target.provider, target.request, recorder, progress)
    else:
        await complete_into(target.provider, target.request, recorder, progress)


async def ask_in_turn(
    chat: "Chat", targets: Targets, recorder: ReplyRecorder, progress: Progress, stream: bool
) -> None:
    """Ask the reply's agent, then its fallbacks while each fails before its first word."""
    while True:
        try:
            await ask(targets.current, recorder, progress, stream)
            return
        except ProviderError as error:
            if recorder.text and chat.max_continuations > 0:
                if not continue_after(chat, targets, recorder, progress, error):
                    raise
                continue
            if not targets.has_fallbacks:
                raise
            failed, reason = targets.current, failure_reason(error)
            # Once text is stored the reply is this agent's: a fallback would start over.
            following = None if recorder.text or reason == REJECTED else targets.next()
            next_id = following.agent.id if following is not None else None
            recorder.note(failed_attempt(recorder.session_id, failed, error, reason, next_id))
            if following is None:
                raise
            log.warning(
                "reply %s: agent %s failed before its first word (%s); asking %s",
                recorder.message_id,
                failed.agent.id,
                reason,
                following.agent.id,
            )
            chat.metrics.fell_back(failed.agent.id, following.agent.id, reason)
            # The reply's usage is the answering agent's.
            progress.request = following.request
            if progress.billing is not None:
                progress.billing = replace(progress.billing, agent_id=following.agent.id)


def continue_after(
    chat: "Chat",
    targets: Targets,
    recorder: ReplyRecorder,
    progress: Progress,
    error: ProviderError,
) -> bool:
    """After a failure once text was stored: ask the next target to continue it; False if
    none may (a refusal, no target left, or the reply was continued enough times)."""
    failed, reason = targets.current, failure_reason(error)
    broke_off = len(recorder.text) > progress.attempt_from
    used = progress.spend(recorder.text)
    following = None
    if reason != REJECTED and progress.continuations < chat.max_continuations:
        conversation_id = progress.provider_conversation_id
        following = targets.continuing(recorder.text, conversation_id, broke_off)
    next_id = following.agent.id if following is not None else None
    stored = len(recorder.text)
    recorder.note(failed_attempt(recorder.session_id, failed, error, reason, next_id, stored, used))
    if following is None:
        return False
    progress.continuations += 1
    log.warning(
        "reply %s: agent %s failed after %d characters (%s); %s continues it",
        recorder.message_id,
        failed.agent.id,
        stored,
        reason,
        following.agent.id,
    )
    if following.agent.id != failed.agent.id:
        chat.metrics.fell_back(failed.agent.id, following.agent.id, reason)
    progress.request = following.request
    if progress.billing is not None:
        progress.billing = replace(progress.billing, agent_id=following.agent.id)
    return True


async def run_reply(
    chat: "Chat",
    targets: Targets,
    recorder: ReplyRecorder,
    stream: bool,
    conversation_version: int,
    billing: Billing,
    progress: Progress | None = None,
) -> None:
    """`progress` is given for a reply taken over from another instance (its earlier
    attempts, and the continuation it is asked for now)."""
    progress = progress or Progress(targets.current.request, billing)
    chat.metrics.reply_started()
    try:
        await ask_in_turn(chat, targets, recorder, progress, stream)
        if not targets.answered_by_first:
            progress.provider_conversation_id = None  # another agent's: not the conversation's
        ended = outcome(recorder, progress, "completed", progress.finish_reason or "stop")
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None:
            current.uncancel()  # cancelled on purpose: still store how it ended
        if chat.live.handing_over and not recorder.abandoned and not recorder.ended:
            await hand_over(chat, recorder, progress, billing)
            return
        # Abandoned: its turn was never stored, so nothing of it is either (see send_message).
        kind = (
            "abandoned"
            if recorder.abandoned
            else "interrupted"
            if chat.live.closing
            else "cancelled"
        )
        ended = outcome(recorder, progress, kind, kind)
    except ProviderError as error:
        log.warning("reply %s failed: %s", recorder.message_id, error)
        ended = outcome(recorder, progress, "failed", "error", provider_error(error))
    except Exception:
        log.exception("reply %s failed unexpectedly", recorder.message_id)
        unexpected = ("INTERNAL_ERROR", "the reply failed unexpectedly")
        ended = outcome(recorder, progress, "failed", "error", unexpected)
    provider = targets.current.request.provider
    if progress.first_chunk is not None:
        chat.metrics.first_chunk(provider, progress.first_chunk)
    code = ended.closed.error_code
    chat.metrics.reply_ended(provider, ended.closed.outcome, code.lower() if code else None)
    chat.metrics.usage(ended.finished)
    await chat.budgets.settle(billing.reservation, ended.finished)
    await close_reply(chat, recorder, ended, conversation_version)


async def hand_over(
    chat: "Chat", recorder: ReplyRecorder, progress: Progress, billing: Billing
) -> None:
    """At shutdown with other instances alive: store what arrived and leave the reply open.
    Once this instance stops beating, one of the others claims it and continues it."""
    stored = await recorder.drain(HAND_OVER_WITHIN)
    log.info("reply %s handed over after %d characters", recorder.message_id, len(recorder.text))
    # What was spent here is counted against the caller's budgets now; the instance that
    # continues the reply has no reservation to settle.
    spent = outcome(recorder, progress, "interrupted", "interrupted")
    await chat.budgets.settle(billing.reservation, spent.finished)
    if not stored:
        log.warning("reply %s: its last text was not stored at hand-over", recorder.message_id)


async def close_reply(
    chat: "Chat", recorder: ReplyRecorder, ended: ReplyOutcome, conversation_version: int
) -> None:
    """Store the end, which may wait for the database: a cancel asked for meanwhile asks
    for nothing more, but a server that stops lets it go (its sweep interrupts the reply
    once the instance is gone)."""
    closing = asyncio.ensure_future(
        recorder.close(ended, conversation_version, lambda: chat.store.version(recorder.session_id))
    )
    while True:
        try:
            await asyncio.shield(closing)
            return
        except asyncio.CancelledError:
            if chat.live.closing or closing.done():
                closing.cancel()
                raise
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
        except Exception:
            # Left open: the interrupted-reply sweep closes it once this instance is gone.
            log.exception("reply %s could not be closed", recorder.message_id)
            return
