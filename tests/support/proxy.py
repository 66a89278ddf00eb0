"""A TCP proxy on 127.0.0.1 that can cut every link (FIN) or blackhole it (bytes vanish, no FIN) for fault tests."""

from __future__ import annotations

import select
import socket
import threading

from tests.support.net import free_port


class TcpProxy:
    """Forwards 127.0.0.1:`port` to 127.0.0.1:`target_port`; `cut()`, `blackhole(True/False)`."""

    def __init__(self, target_port: int, port: int | None = None) -> None:
        self.target_port = target_port
        self.port = port or free_port()
        self.blackholed = False
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        self._server.settimeout(0.1)
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._server.accept()
            except (TimeoutError, OSError):
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=2)
            except OSError:
                client.close()  # broker down: the device sees a refused/closed link
                continue
            with self._lock:
                self._pairs.append((client, upstream))
            t = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
            t.start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        reading = [a, b]
        try:
            while not self._stop.is_set() and reading:
                ready, _, _ = select.select(reading, [], [], 0.1)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        if not self.blackholed:
                            return
                        reading.remove(sock)  # a blackhole passes no FIN either: the other side hangs on
                        continue
                    if not self.blackholed:
                        peers[sock].sendall(data)
                if len(reading) < 2 and not self.blackholed:
                    return
        except OSError:
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                if (a, b) in self._pairs:
                    self._pairs.remove((a, b))

    def cut(self) -> None:
        """Close every current link at once (both sides see the connection end)."""
        with self._lock:
            pairs = list(self._pairs)
        for a, b in pairs:
            for s in (a, b):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def blackhole(self, on: bool = True) -> None:
        """While on, bytes in both directions are read and dropped; sockets stay open (no FIN, no RST)."""
        self.blackholed = on

    def connections(self) -> int:
        with self._lock:
            return len(self._pairs)

    def close(self) -> None:
        self._stop.set()
        self._server.close()
        self.cut()
