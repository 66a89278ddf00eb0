"""The register's screens (login, sell, tender, done, status, manager) and its dialogs."""
