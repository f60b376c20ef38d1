"""Signs of life: each serving instance says it is alive, and finds replies nobody runs."""

import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore

from application.ports import EventStore
from application.recover_replies import OpenReplies, interrupt, recover_replies
from domain.reply_stream import ReplyOpened, running_instance
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import EVENTS_TABLE

log = logging.getLogger("llmchat.instances")

HEARTBEAT_SECONDS = 1.0
# An instance silent this long is taken for dead and its open replies are taken over (or
# interrupted). Several heartbeats, so a busy moment or a slow query does not lose a live
# reply. Both are settings (LLMCHAT_HEARTBEAT_SECONDS, LLMCHAT_INSTANCE_DEAD_AFTER_SECONDS).
DEAD_AFTER_SECONDS = 5.0


class PostgresOpenReplies:
    """Open replies from the write side's own table (kept with every append, see
    infrastructure/postgres.py), each with the instance its ReplyOpened names: the read
    models lag the log, so they could call a closed reply open or miss a new one."""

    def __init__(
        self,
        datastore: PostgresDatastore,
        store: RecorderEventStore,
        instance_id: str,
        dead_after: float = DEAD_AFTER_SECONDS,
    ) -> None:
        self.datastore = datastore
        self.store = store
        self.instance_id = instance_id
        self.dead_after = dead_after
        # Each open reply's opening is read once; a reply whose instance looks dead is read
        # again in full before it is called abandoned, since another may have claimed it.
        self.runs_on: dict[str, str] = {}

    def beat(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute(
                "INSERT INTO llmchat_instances (instance_id, seen_at) VALUES (%s, now())"
                " ON CONFLICT (instance_id) DO UPDATE SET seen_at = now()",
                (self.instance_id,),
            )

    def abandoned(self) -> list[str]:
        with self.datastore.get_connection() as conn:
            open_now = [
                str(row["message_id"])
                for row in conn.execute("SELECT message_id FROM llmchat_open_replies")
            ]
            self.runs_on = {m: self.runs_on[m] for m in open_now if m in self.runs_on}
            unknown = [m for m in open_now if m not in self.runs_on]
            if unknown:
                self.runs_on.update(self.openings(conn, unknown))
            alive = self.alive(conn)
        # A reply whose opening cannot be read names no instance: it cannot be closed here.
        suspects = [m for m in open_now if self.runs_on.get(m, self.instance_id) not in alive]
        for message_id in suspects:
            claimed = running_instance(r.event for r in self.store.read(message_id))
            if claimed is not None:
                self.runs_on[message_id] = claimed
        return [
            m
            for m in suspects
            if (instance := self.runs_on.get(m))
            and instance != self.instance_id
            and instance not in alive
        ]

    def alive(self, conn: Any) -> set[str]:
        rows = conn.execute(
            "SELECT instance_id FROM llmchat_instances"
            " WHERE seen_at > now() - make_interval(secs => %s)",
            (self.dead_after,),
        )
        return {str(row["instance_id"]) for row in rows} | {self.instance_id}

    def others_alive(self) -> bool:
        """Whether another instance beats: one that may take over this one's replies."""
        with self.datastore.get_connection() as conn:
            return bool(self.alive(conn) - {self.instance_id})

    def retire(self) -> None:
        """Stop counting as alive at once: the replies left here are taken over now, not
        once this instance's silence has lasted `dead_after`."""
        with self.datastore.get_connection() as conn:
            conn.execute(
                "DELETE FROM llmchat_instances WHERE instance_id = %s", (self.instance_id,)
            )

    def openings(self, conn: Any, message_ids: list[str]) -> dict[str, str]:
        """The instance named by each reply's first event (its ReplyOpened)."""
        rows = conn.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {EVENTS_TABLE}"
            " WHERE originator_id = ANY(%s::uuid[]) AND originator_version = 1",
            (message_ids,),
        ).fetchall()
        runs_on = {}
        for row in rows:
            opened = self.store.to_recorded_or_unreadable(StoredEvent(**row), 0).event
            if isinstance(opened, ReplyOpened):
                runs_on[str(row["originator_id"])] = opened.instance_id
        return runs_on


class InstanceSigns(OpenReplies, Protocol):
    def beat(self) -> None:
        """Say this instance is alive, now."""
        ...


class Vigil:
    """Beats, then sweeps abandoned replies, with one exception: after a beat of its own
    failed, it sweeps again only once it has beaten for DEAD_AFTER_SECONDS. The database
    was away, most likely for every instance, and the others need as long to beat again
    before their silence means they are gone: sooner, their live replies would be taken
    for abandoned and interrupted."""

    def __init__(
        self,
        store: EventStore,
        open_replies: InstanceSigns,
        take_over: Callable[[str], bool] | None = None,
        dead_after: float = DEAD_AFTER_SECONDS,
    ) -> None:
        self.store, self.open_replies = store, open_replies
        self.take_over = take_over or (lambda message_id: interrupt(store, message_id))
        """What becomes of an abandoned reply: continued here (claimed) or interrupted;
        False when another instance got to it first."""
        self.dead_after = dead_after
        self.beating_since = -math.inf

    def step(self, now: float) -> None:
        try:
            self.open_replies.beat()
        except Exception as error:  # the database may be down; try again next beat
            log.warning("heartbeat failed: %s", error)
            self.beating_since = math.inf
            return
        self.beating_since = min(self.beating_since, now)
        if now - self.beating_since < self.dead_after:
            return
        try:
            recover_replies(self.open_replies, self.take_over)
        except Exception as error:
            log.warning("recovery sweep failed: %s", error)


class Heartbeat:
    """The instance's beat and sweep in a thread of their own, until `stop()`."""

    def __init__(
        self, vigil: Vigil, open_replies: PostgresOpenReplies, every: float = HEARTBEAT_SECONDS
    ) -> None:
        self.vigil, self.open_replies, self.every = vigil, open_replies, every
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, name="instance-heartbeat", daemon=True)

    def start(self) -> "Heartbeat":
        self.thread.start()
        return self

    def run(self) -> None:
        while not self.stopped.is_set():
            self.vigil.step(time.monotonic())
            self.stopped.wait(self.every)

    def stop(self) -> None:
        self.stopped.set()
        if self.thread.is_alive() and self.thread is not threading.current_thread():
            self.thread.join(self.every + 30)

    def others_alive(self) -> bool:
        try:
            return self.open_replies.others_alive()
        except Exception as error:
            log.warning("other instances not found: %s", error)
            return False

    def retire(self) -> None:
        """Stop beating and leave the table of live instances (at shutdown)."""
        self.stop()
        try:
            self.open_replies.retire()
        except Exception as error:  # then the others wait out its silence instead
            log.warning("instance not retired: %s", error)


def keep_alive(
    store: EventStore,
    open_replies: PostgresOpenReplies,
    stop: threading.Event,
    take_over: Callable[[str], bool] | None = None,
    every: float = HEARTBEAT_SECONDS,
) -> Heartbeat:
    """Beat, and sweep abandoned replies, until `stop` is set (or the heartbeat's own)."""
    vigil = Vigil(store, open_replies, take_over, open_replies.dead_after)
    heartbeat = Heartbeat(vigil, open_replies, every)

    def stop_with_the_workers() -> None:
        stop.wait()
        heartbeat.stop()

    threading.Thread(target=stop_with_the_workers, name="heartbeat-stop", daemon=True).start()
    return heartbeat.start()
