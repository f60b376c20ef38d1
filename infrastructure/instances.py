"""Signs of life: each serving instance says it is alive, and finds replies nobody runs."""

import logging
import math
import threading
import time
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresDatastore

from application.ports import EventStore
from application.recover_replies import OpenReplies, recover_replies
from domain.reply_stream import ReplyOpened
from infrastructure.event_store import RecorderEventStore
from infrastructure.postgres import EVENTS_TABLE

log = logging.getLogger("llmchat.instances")

HEARTBEAT_SECONDS = 1.0
# An instance silent this long is taken for dead and its open replies are interrupted.
# Several heartbeats, so a busy event loop or a slow query does not lose a live reply.
DEAD_AFTER_SECONDS = 5


class PostgresOpenReplies:
    """Open replies from the write side's own table (kept with every append, see
    infrastructure/postgres.py), each with the instance its ReplyOpened names: the read
    models lag the log, so they could call a closed reply open or miss a new one."""

    def __init__(
        self, datastore: PostgresDatastore, store: RecorderEventStore, instance_id: str
    ) -> None:
        self.datastore = datastore
        self.store = store
        self.instance_id = instance_id
        # A reply's instance never changes: each open reply's opening is read once.
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
            alive = {
                str(row["instance_id"])
                for row in conn.execute(
                    "SELECT instance_id FROM llmchat_instances"
                    " WHERE seen_at > now() - make_interval(secs => %s)",
                    (DEAD_AFTER_SECONDS,),
                )
            }
        # A reply whose opening cannot be read names no instance: it cannot be closed here.
        return [
            m
            for m in open_now
            if (instance := self.runs_on.get(m))
            and instance != self.instance_id
            and instance not in alive
        ]

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

    def __init__(self, store: EventStore, open_replies: InstanceSigns) -> None:
        self.store, self.open_replies = store, open_replies
        self.beating_since = -math.inf

    def step(self, now: float) -> None:
        try:
            self.open_replies.beat()
        except Exception as error:  # the database may be down; try again next beat
            log.warning("heartbeat failed: %s", error)
            self.beating_since = math.inf
            return
        self.beating_since = min(self.beating_since, now)
        if now - self.beating_since < DEAD_AFTER_SECONDS:
            return
        try:
            recover_replies(self.store, self.open_replies)
        except Exception as error:
            log.warning("recovery sweep failed: %s", error)


def keep_alive(
    store: EventStore, open_replies: PostgresOpenReplies, stop: threading.Event
) -> threading.Thread:
    """Beat, and sweep abandoned replies, until `stop` is set."""
    vigil = Vigil(store, open_replies)

    def run() -> None:
        while not stop.is_set():
            vigil.step(time.monotonic())
            stop.wait(HEARTBEAT_SECONDS)

    thread = threading.Thread(target=run, name="instance-heartbeat", daemon=True)
    thread.start()
    return thread
