"""The PostgreSQL server the tests use: $CARBON_TEST_PG_URL (a superuser URL to an existing
database), default the local server with trust auth."""

from __future__ import annotations

import os

ADMIN_URL = os.environ.get("CARBON_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")


def db_url(name: str) -> str:
    """The URL of database `name` on the same server, as the same user."""
    import psycopg

    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    user = info.get("user", "postgres")
    password = f":{info['password']}" if info.get("password") else ""
    return (f"postgresql://{user}{password}@{info.get('host', '127.0.0.1')}:"
            f"{info.get('port', 5432)}/{name}")
