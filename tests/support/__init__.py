"""Real parts for tests: a Mosquitto broker on loopback, TCP proxies, free ports."""
