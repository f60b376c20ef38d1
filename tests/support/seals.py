"""The seal chain rewritten from a position on, as a forger would (or as if the events from
there had been stored as they now are)."""

import psycopg

from projections.seal_chain import GENESIS, sealed
from projections.sealer import raw_events


def reseal_from(database_url: str, position: int) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        conn.execute("DELETE FROM llmchat_event_seals WHERE position >= %s", (position,))
        [(previous,)] = conn.execute(
            "SELECT COALESCE((SELECT seal FROM llmchat_event_seals"
            " ORDER BY position DESC LIMIT 1), %s)",
            (GENESIS,),
        ).fetchall()
        for seal in sealed(raw_events(conn, position - 1, None), previous):
            conn.execute(
                "INSERT INTO llmchat_event_seals (position, state_hash, previous, seal)"
                " VALUES (%s, %s, %s, %s)",
                (seal.position, seal.state_hash, seal.previous, seal.seal),
            )
