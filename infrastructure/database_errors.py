"""Why a database could not be reached, said in one line an operator can act on.

A pool that cannot connect says only "couldn't get a connection after 2.00 sec"; one direct
attempt names the cause: refused, unknown database, authentication failed, timeout. The
password never appears: the line names the variable, the host, the port and the database.
"""

import psycopg
from psycopg.conninfo import conninfo_to_dict

ATTEMPT_SECONDS = 3


def where(url: str) -> str:
    params = conninfo_to_dict(url)
    host = params.get("host") or "localhost"
    port = params.get("port") or "5432"
    return f"{host}:{port}/{params.get('dbname') or params.get('user') or 'postgres'}"


def cause_of(error: BaseException) -> str:
    text = str(error).lower()
    if "does not exist" in text and "database" in text:
        return "unknown database"
    if "password authentication failed" in text or "authentication" in text:
        return "authentication failed"
    if "connection refused" in text:
        return "connection refused"
    if "timeout" in text or "timed out" in text:
        return "timeout"
    if "could not translate host name" in text or "name or service not known" in text:
        return "unknown host"
    return text.splitlines()[0] if text else type(error).__name__


def connection_failure(url: str, variable: str) -> str:
    """One line naming the variable, where it points and why it cannot be used."""
    try:
        psycopg.connect(url, connect_timeout=ATTEMPT_SECONDS).close()
    except psycopg.Error as error:
        return f"{variable}: cannot connect to {where(url)}: {cause_of(error)}"
    return f"{variable}: {where(url)} answered a direct connection, but not the pool in time"
