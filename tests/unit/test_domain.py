from hypothesis import given
from hypothesis import strategies as st

from domain.token_family import RefreshReuseDetected, SignedIn, TokenFamily, TokenRefreshed
from domain.user import User, UserRoleChanged, email_claim_id

jtis = st.text(alphabet="abcdef0123456789", min_size=1, max_size=6)


def started(jti="r0"):
    return SignedIn(
        family_id="f", user_id="u", refresh_jti=jti, access_jti="a0", ip="", user_agent=""
    )


@given(st.lists(jtis, max_size=20))
def test_a_family_rebuilt_from_its_events_equals_the_one_that_made_them(presented):
    family = TokenFamily.replay([(started(), "")])
    history: list[tuple[object, str]] = [(started(), "")]
    for n, jti in enumerate(presented):
        live = family.live_refresh_jti
        decision = family.refresh(jti if n % 2 else live, f"r{n + 1}", f"a{n + 1}", "", "")
        if decision is None:
            break
        history.append((decision, ""))
    assert TokenFamily.replay(history) == family


def test_only_the_live_refresh_token_rotates_and_an_old_one_is_reuse():
    family = TokenFamily.replay([(started("r0"), "")])
    rotated = family.refresh("r0", "r1", "a1", "", "")
    assert isinstance(rotated, TokenRefreshed)
    assert isinstance(family.refresh("r0", "r2", "a2", "", ""), RefreshReuseDetected)


def test_email_claims_collide_for_one_address_in_any_case():
    assert email_claim_id("A@B.io ") == email_claim_id("a@b.io")
    assert email_claim_id("a@b.io") != email_claim_id("c@b.io")


def test_role_changes_only_when_it_differs():
    user = User.register("u", "a@b.io", "A", "user", "h")
    assert user.change_role("user") is None
    change = user.change_role("admin")
    assert isinstance(change, UserRoleChanged)
    assert (user.role, user.version) == ("admin", 2)


# --- conversations -------------------------------------------------------------

from domain.conversation import (  # noqa: E402
    Conversation,
    ConversationFull,
    ImportedMessage,
    ReplyFinished,
    ReplyInProgress,
)

commands = st.lists(
    st.one_of(
        st.tuples(st.just("post"), st.text(max_size=8)),
        st.tuples(
            st.just("finish"), st.sampled_from(["completed", "failed", "cancelled", "interrupted"])
        ),
        st.tuples(st.just("import"), st.integers(0, 3)),
        st.tuples(st.just("title"), st.text(max_size=8)),
    ),
    max_size=30,
)


@given(commands)
def test_a_conversation_rebuilt_from_its_events_equals_the_one_that_made_them(script):
    live = Conversation.start("s", "u", "a", "first")
    history: list[tuple[object, str]] = [(e, "") for _, _, e in live.collect()]
    counter = 0
    for command, argument in script:
        counter += 1
        try:
            if command == "post":
                events = live.post(f"m{counter}", str(argument), f"r{counter}", "i", "a")
            elif command == "finish" and live.open_reply:
                events = [
                    live.trigger(
                        ReplyFinished(
                            session_id="s",
                            message_id=live.open_reply,
                            outcome=str(argument),
                            content=f"text {counter}",
                            finish_reason="stop",
                        )
                    )
                ]
            elif command == "import":
                made = [
                    ImportedMessage(message_id=f"x{counter}-{n}", role="user", content="x")
                    for n in range(int(argument))
                ]
                imported = live.import_messages(made)
                events = [imported] if imported else []
            else:
                titled = live.retitle(str(argument))
                events = [titled] if titled else []
        except (ReplyInProgress, ConversationFull):
            continue
        history += [(event, "") for event in events]
    assert Conversation.replay(history) == live
    assert live.version == len(history)


def test_redaction_removes_the_words_and_keeps_the_facts():
    from domain.conversation import (
        ConversationStarted,
        MessagesImported,
        ReplyStarted,
        UserMessagePosted,
    )
    from domain.personal import redacted
    from domain.reply_stream import ChunksAppended

    posted = UserMessagePosted(session_id="s", message_id="m", content="secret")
    assert redacted(posted) == UserMessagePosted(session_id="s", message_id="m", content="")
    started = ConversationStarted(session_id="s", owner_id="u", agent_id="a", title="secret")
    assert redacted(started).title == "" and redacted(started).owner_id == "u"
    imported = MessagesImported(
        session_id="s", messages=[ImportedMessage(message_id="x", role="user", content="secret")]
    )
    assert [m.content for m in redacted(imported).messages] == [""]
    assert redacted(ChunksAppended(text="secret", deltas=3)) == ChunksAppended(text="", deltas=3)
    finished = ReplyFinished(
        session_id="s",
        message_id="r",
        outcome="failed",
        content="secret",
        finish_reason="error",
        error_message="provider said secret",
    )
    assert (redacted(finished).content, redacted(finished).error_message) == ("", None)
    untouched = ReplyStarted(session_id="s", message_id="r", agent_id="a", instance_id="i")
    assert redacted(untouched) is untouched
