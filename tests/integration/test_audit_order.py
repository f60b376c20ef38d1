"""The audit page lists newest first by time, even where log order and time disagree."""

import uuid
from datetime import UTC, datetime, timedelta

from application.audit_log import AuditQuery
from infrastructure.postgres import create_schema, open_datastore
from projections.audit import AuditProjection
from projections.audit_views import AuditViews


def test_entries_appended_out_of_time_order_are_listed_newest_first(make_database):
    datastore = open_datastore(make_database("audit_order"), pool_size=2)
    try:
        create_schema(datastore, AuditProjection().schema)
        now = datetime.now(UTC)
        # Under load an append takes its time before the table lock: position 2 may be older.
        rows = [(1, now), (2, now - timedelta(milliseconds=4)), (3, now + timedelta(seconds=1))]
        with datastore.get_connection() as conn:
            for position, at in rows:
                conn.execute(
                    "INSERT INTO llmchat_audit (position, id, at, action, resource, outcome,"
                    " previous_hash, hash) VALUES (%s, %s, %s, 'auth.login', 'r', 'success',"
                    " '', '')",
                    (position, str(uuid.uuid4()), at),
                )
        entries, total = AuditViews(datastore).page(AuditQuery(page=1, limit=10))
        stamps = [entry["timestamp"] for entry in entries]
        assert total == 3 and stamps == sorted(stamps, reverse=True)
    finally:
        datastore.close()
