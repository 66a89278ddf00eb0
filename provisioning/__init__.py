"""Technician tooling: `kassa-provision` (init, hardware, catalog, clerks, bundles, self-test, status)."""
