"""The EventStore port over an `eventsourcing` application recorder.

Events are stored as JSON under their catalogue name; the timestamp travels inside the
stored state, since the recorder's table has no column for it. The same adapter runs on
the PostgreSQL recorder in production and on the in-memory (POPO) one in unit tests.

With data keys (infrastructure/data_keys.py), an event holding personal content is stored
as its redaction (`data`, domain/personal.py) beside the whole event encrypted with its
conversation's or user's key (`secret`, `<key id>:<base64 AES-GCM>`). Reading it opens the
secret while the key exists; once the key is destroyed the redaction is what is read, the
same as an event an older main rewrote in place. The stored bytes never change.
"""

import logging
import re
from base64 import b64decode, b64encode
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol
from uuid import UUID

import msgspec
from eventsourcing.persistence import ApplicationRecorder, IntegrityError, StoredEvent

from application.errors import StreamConflict, ValidationFailed
from application.ports import Clock, PendingEvent
from domain.catalogue import EVENT_MODULES
from domain.conversation import ConversationStarted
from domain.events import Recorded, Unreadable, event_type, name_of
from domain.ids import is_uuid
from domain.personal import data_key_of, key_owner, redacted, reply_conversation
from domain.timestamps import iso_millis
from infrastructure import metrics, request_metadata
from infrastructure.data_keys import KeyRow, cipher_of

# Replay finds event classes by their stored name, so every module defining one is loaded.
assert EVENT_MODULES

log = logging.getLogger("llmchat.events")

# U+0000 as JSON writes it: `\u0000` after an even number of backslashes (an odd number
# is a written backslash followed by the letters "u0000").
_ESCAPED_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


# The key id at the head of a stored event's `secret`, found without decoding it.
_SECRET_KEY = re.compile(rb'"secret":"([0-9a-f-]{36}):')


class UnstorableEvent(ValidationFailed):
    """An event holding what no read model can apply. The edge refuses such input and
    cleans what comes from elsewhere (domain/text.py); this is the last line, so that a
    value that slipped past both fails its own request instead of every projection."""

    def __init__(self, event: object, why: str) -> None:
        super().__init__("Value cannot be stored", why)
        # Something reached the log unchecked: say where, for the check to be added.
        log.warning("refused to store %s: it holds %s", name_of(event), why)


class Cipher(Protocol):
    def encrypt(self, plaintext: bytes) -> bytes: ...

    def decrypt(self, ciphertext: bytes) -> bytes: ...


class DataKeys(Protocol):
    def key(self, key_id: str) -> bytes | None:
        """The key to read with; None if destroyed or never made."""
        ...

    def key_to_write(self, key_id: str, owner: Callable[[], str]) -> bytes | None:
        """The key to encrypt with, made (for `owner()`) if missing; None if destroyed."""
        ...

    def fresh(self, key_id: str, owner_id: str) -> tuple[bytes, KeyRow] | None:
        """A new stream's key, made here, for its row to be saved with the stream; None
        when the table must be asked instead."""
        ...

    def prefetch(self, key_ids: Iterable[str]) -> None:
        """Keys about to be read, asked at once."""
        ...


class StoredState(msgspec.Struct):
    timestamp: str
    data: msgspec.Raw
    # Added later with a default, so events stored before it still decode.
    meta: dict[str, str] | None = None
    # Added with data keys: the whole event under its data key (see above).
    secret: str | None = None


# Reply streams whose conversation this process has learnt, kept up to this many.
KEPT_REPLIES = 10_000


class RecorderEventStore:
    def __init__(
        self,
        recorder: ApplicationRecorder,
        clock: Clock,
        cipher: Cipher | None = None,
        keys: DataKeys | None = None,
    ) -> None:
        self.recorder = recorder
        self.clock = clock
        self.cipher = cipher
        self.keys = keys
        self.encoder = msgspec.json.Encoder()
        self.state_decoder = msgspec.json.Decoder(StoredState)
        self.whole_decoder = msgspec.json.Decoder(WholeEvent)
        self.ciphers: dict[bytes, Any] = {}
        self.reply_keys: dict[str, str] = {}

    def append(self, events: Sequence[PendingEvent]) -> list[int]:
        timestamp = iso_millis(self.clock.now())
        stored = [self.to_stored(pending, timestamp) for pending in events]
        try:
            with metrics.EVENT_STORE_APPEND.time():
                positions = self.recorder.insert_events(stored)
        except IntegrityError:
            raise StreamConflict from None
        return list(positions or [])

    def read(self, stream_id: str, after: int = 0) -> list[Recorded]:
        if not is_uuid(stream_id):
            return []  # no stream is written under any other spelling
        stored = self.recorder.select_events(UUID(stream_id), gt=after or None)
        return [self.to_recorded(e, 0) for e in stored]

    def latest_type(self, stream_id: str) -> type | None:
        if not is_uuid(stream_id):
            return None
        select_topic = getattr(self.recorder, "select_latest_topic", None)
        if select_topic is not None:  # PostgreSQL: the topic alone, not the state
            topic = select_topic(UUID(stream_id))
            return None if topic is None else event_type(topic)
        stored = self.recorder.select_events(UUID(stream_id), desc=True, limit=1)
        return event_type(stored[0].topic) if stored else None

    def version(self, stream_id: str) -> int:
        if not is_uuid(stream_id):
            return 0
        newest = self.recorder.select_events(UUID(stream_id), desc=True, limit=1)
        return newest[0].originator_version if newest else 0

    def read_all(self, after: int, limit: int) -> list[Recorded]:
        """The log in order; an event that cannot be decoded comes as `Unreadable` (with no
        timestamp), so one corrupt row cannot stop a projection, an export or a rebuild."""
        notifications = self.recorder.select_notifications(after, limit, inclusive_of_start=False)
        self.prefetch_keys(notifications)
        return [self.to_recorded_or_unreadable(n, n.id) for n in notifications]

    def prefetch_keys(self, stored: Sequence[StoredEvent]) -> None:
        """The data keys a page of the log names, asked in one query, not one per key (a
        rebuild of a thousand conversations asked a thousand times). Payloads encrypted at
        rest name theirs only once decrypted: those are asked one by one."""
        if self.keys is None or self.cipher is not None:
            return
        named = {m.group(1).decode() for e in stored if (m := _SECRET_KEY.search(e.state))}
        if named:
            self.keys.prefetch(named)

    def last_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def stamped(self, pending: PendingEvent, made: list[KeyRow] | None = None) -> StoredEvent:
        """The stored form of an event appended now; with `made`, a new conversation's key
        is made here and its row added to `made`, for the append to save."""
        return self.to_stored(pending, iso_millis(self.clock.now()), made)

    def to_stored(
        self, pending: PendingEvent, timestamp: str, made: list[KeyRow] | None = None
    ) -> StoredEvent:
        envelope: dict[str, object] = {"timestamp": timestamp, "data": pending.event}
        meta = request_metadata.current()
        if meta:
            envelope["meta"] = meta
        if not is_uuid(pending.stream_id):
            raise UnstorableEvent(pending.event, "an id that is not a canonical UUID")
        if self.keys is not None:
            self.encrypt_personal(pending, envelope, made)
        state = self.checked_encoding(pending.event, envelope)
        if self.cipher is not None:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=UUID(pending.stream_id),
            originator_version=pending.version,
            topic=name_of(pending.event),
            state=state,
        )

    def encrypt_personal(
        self, pending: PendingEvent, envelope: dict[str, object], made: list[KeyRow] | None
    ) -> None:
        """Personal content goes under its data key: `data` keeps the redaction."""
        assert self.keys is not None
        event = pending.event
        if (session_id := reply_conversation(event)) is not None:
            self.learn_reply(pending.stream_id, session_id)
        erased = redacted(event)
        if erased == event:
            return
        key_id = data_key_of(event) or self.reply_key(pending.stream_id)
        if key_id is None:
            return  # a reply's text on a stream that was never opened: nothing names it
        key = self.key_to_write(pending, key_id, made)
        envelope["data"] = erased
        if key is not None:  # a destroyed key: what would go under it is erased already
            whole = self.checked_encoding(event, {"data": event})
            sealed = self.data_cipher(key).encrypt(whole)
            envelope["secret"] = f"{key_id}:{b64encode(sealed).decode()}"

    def key_to_write(
        self, pending: PendingEvent, key_id: str, made: list[KeyRow] | None
    ) -> bytes | None:
        assert self.keys is not None
        event = pending.event
        if made is not None and isinstance(event, ConversationStarted) and pending.version == 1:
            fresh = self.keys.fresh(key_id, event.owner_id)
            if fresh is not None:
                made.append(fresh[1])
                return fresh[0]
        return self.keys.key_to_write(key_id, lambda: key_owner(event) or self.owner_of(key_id))

    def data_cipher(self, key: bytes) -> Any:
        cipher = self.ciphers.get(key)
        if cipher is None:
            cipher = self.ciphers[key] = cipher_of(key)
        return cipher

    def learn_reply(self, stream_id: str, session_id: str) -> None:
        if len(self.reply_keys) >= KEPT_REPLIES:
            self.reply_keys.clear()
        self.reply_keys[stream_id] = session_id

    def first_event(self, stream_id: str) -> object | None:
        stored = self.recorder.select_events(UUID(stream_id), limit=1)
        return self.to_recorded(stored[0], 0).event if stored else None

    def reply_key(self, stream_id: str) -> str | None:
        """The conversation of a reply stream, from its opening (read once per process)."""
        session_id = self.reply_keys.get(stream_id)
        if session_id is None:
            session_id = reply_conversation(self.first_event(stream_id))
            if session_id is not None:
                self.learn_reply(stream_id, session_id)
        return session_id

    def owner_of(self, key_id: str) -> str:
        """Whose a key made after its stream began is: its first event says (a conversation
        from before data keys); a user's, or a service account's, is its own."""
        return key_owner(self.first_event(key_id)) or key_id

    def checked_encoding(self, event: object, envelope: dict[str, object]) -> bytes:
        try:
            state = self.encoder.encode(envelope)
        except UnicodeEncodeError:
            raise UnstorableEvent(event, "a lone surrogate (U+D800..U+DFFF)") from None
        if b"\\u0000" in state and _ESCAPED_NUL.search(state):
            raise UnstorableEvent(event, "U+0000")
        return state

    def restate(self, recorded: Recorded, event: object) -> bytes:
        """The stored state for `event` in place of `recorded`'s, keeping when and whence
        (only for events stored in the clear before data keys, see infrastructure/retention.py)."""
        envelope: dict[str, object] = {"timestamp": recorded.timestamp, "data": event}
        if recorded.meta:
            envelope["meta"] = recorded.meta
        state = self.encoder.encode(envelope)
        return self.cipher.encrypt(state) if self.cipher is not None else state

    def to_recorded_or_unreadable(self, stored: StoredEvent, position: int) -> Recorded:
        try:
            return self.to_recorded(stored, position)
        # Decoding is pure (decrypt, JSON, the type's fields): whatever it raises is about
        # this row's bytes, not the database or the process.
        except Exception as error:
            return Recorded(
                stream_id=str(stored.originator_id),
                version=stored.originator_version,
                position=position,
                timestamp="",
                event=Unreadable(topic=stored.topic, error=f"{type(error).__name__}: {error}"),
            )

    def to_recorded(self, stored: StoredEvent, position: int) -> Recorded:
        state = stored.state
        if self.cipher is not None:
            state = self.cipher.decrypt(state)
        envelope = self.state_decoder.decode(state)
        kind = event_type(stored.topic)
        key_id, erased, data = None, False, bytes(envelope.data)
        if envelope.secret is not None:
            key_id, _, sealed = envelope.secret.partition(":")
            key = self.keys.key(key_id) if self.keys is not None else None
            if key is None:
                erased = True
            else:
                whole = self.data_cipher(key).decrypt(b64decode(sealed))
                data = bytes(self.whole_decoder.decode(whole).data)
        event = msgspec.json.decode(data, type=kind)
        if key_id is None and (session_id := reply_conversation(event)) is not None:
            self.learn_reply(str(stored.originator_id), session_id)
        return Recorded(
            stream_id=str(stored.originator_id),
            version=stored.originator_version,
            position=position,
            timestamp=envelope.timestamp,
            event=event,
            meta=envelope.meta,
            data_key=key_id,
            erased=erased,
        )


class WholeEvent(msgspec.Struct):
    data: msgspec.Raw
