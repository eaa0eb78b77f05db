"""Exit 0 when the PostgreSQL server of the given URL answers (used by `make test-postgres`)."""

import sys

import psycopg

url = sys.argv[1]
server = url.rsplit("/", 1)[0] + "/postgres"
try:
    with psycopg.connect(server, connect_timeout=3) as connection:
        version = connection.execute("SHOW server_version_num").fetchone()[0]
except psycopg.Error as error:
    print(f"PostgreSQL not reachable: {error}".strip(), file=sys.stderr)
    sys.exit(1)
if int(version) < 150000:
    print(f"PostgreSQL {version} is older than 15", file=sys.stderr)
    sys.exit(1)
