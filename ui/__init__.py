"""Touchscreen front end (pygame) of the register service in `firmware`."""
