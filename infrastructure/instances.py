"""Signs of life: each serving instance says it is alive, and finds replies nobody runs."""

import logging
import math
import threading
import time
from typing import Protocol

from eventsourcing.postgres import PostgresDatastore

from application.ports import EventStore
from application.recover_replies import OpenReplies, recover_replies

log = logging.getLogger("llmchat.instances")

HEARTBEAT_SECONDS = 1.0
# An instance silent this long is taken for dead and its open replies are interrupted.
# Several heartbeats, so a busy event loop or a slow query does not lose a live reply.
DEAD_AFTER_SECONDS = 5


class PostgresOpenReplies:
    def __init__(self, datastore: PostgresDatastore, instance_id: str) -> None:
        self.datastore = datastore
        self.instance_id = instance_id

    def beat(self) -> None:
        with self.datastore.get_connection() as conn:
            conn.execute(
                "INSERT INTO llmchat_instances (instance_id, seen_at) VALUES (%s, now())"
                " ON CONFLICT (instance_id) DO UPDATE SET seen_at = now()",
                (self.instance_id,),
            )

    def abandoned(self) -> list[str]:
        with self.datastore.get_connection() as conn:
            rows = conn.execute(
                "SELECT m.message_id FROM llmchat_messages m"
                " WHERE m.status = 'streaming' AND m.instance_id IS DISTINCT FROM %s"
                " AND NOT EXISTS (SELECT 1 FROM llmchat_instances i"
                "   WHERE i.instance_id = m.instance_id"
                "   AND i.seen_at > now() - make_interval(secs => %s))",
                (self.instance_id, DEAD_AFTER_SECONDS),
            ).fetchall()
        return [str(row["message_id"]) for row in rows]


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
