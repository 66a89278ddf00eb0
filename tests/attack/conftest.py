"""The attack tests reuse the fleet's database fixtures (SQLite and PostgreSQL); Mosquitto is tests/conftest.py's."""

from tests.fleet.conftest import fleet_url, postgres  # noqa: F401 - fixtures, used by name
