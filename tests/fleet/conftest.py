"""Fleet fixtures: a throwaway PostgreSQL cluster (session-wide) and a fresh fleet database per test."""

from __future__ import annotations

import os
import uuid

import pytest

from tests.support.postgres import BINDIR, Postgres


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL on a free loopback port; CI installs it, so there it is never skipped."""
    if BINDIR is None:
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL is not installed (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed here (apt-get install postgresql); CI runs these")
    cluster = Postgres().start()
    yield cluster
    cluster.remove()


def fresh_database(cluster: Postgres) -> str:
    if not cluster.running():  # a fault test killed it and did not get to start it again
        cluster.start()
    name = f"fleet_{uuid.uuid4().hex[:16]}"  # this module may be imported twice (conftest and by name)
    cluster.psql(f"CREATE DATABASE {name}")
    return cluster.url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(params=["sqlite", "postgresql"])
def fleet_url(request, tmp_path):
    """The same test on the embedded SQLite file and on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fleet.db'}"
    return fresh_database(request.getfixturevalue("postgres"))
