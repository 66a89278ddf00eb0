"""A raw TCP 9100 printer stand-in on 127.0.0.1: keeps the bytes, answers DLE EOT 4, can hang up mid-job."""

from __future__ import annotations

import socket
import threading
import time

PAPER_STATUS = b"\x10\x04\x04"
ANSWERS = {"ok": b"\x12", "low": b"\x1e", "out": b"\x72", None: b""}


class PrinterSink:
    """Each connection's bytes are kept in `jobs`; `paper` (ok|low|out|None = never answers) sets the status reply.

    `hang_up_after` makes the next connection close after that many bytes (a printer switched off mid-job).
    """

    def __init__(self, paper: str | None = "ok", hang_up_after: int | None = None) -> None:
        self.paper = paper
        self.hang_up_after = hang_up_after
        self.connections: list[bytearray] = []
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen(8)
        self.port = self.server.getsockname()[1]
        self._stop = False
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}?timeout=2&status_timeout=0.2"

    @property
    def received(self) -> bytes:
        return b"".join(bytes(c) for c in self.connections)

    def _serve(self) -> None:
        while not self._stop:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._talk, args=(conn,), daemon=True).start()

    def _talk(self, conn: socket.socket) -> None:
        got = bytearray()
        self.connections.append(got)
        limit, self.hang_up_after = self.hang_up_after, None
        conn.settimeout(0.05)
        with conn:
            while not self._stop:
                try:
                    chunk = conn.recv(64 if limit is not None else 65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    return
                got += chunk
                if limit is not None and len(got) >= limit:
                    return  # hang up with unread bytes queued: the client sees a reset
                for _ in range(bytes(got[-len(chunk) - 2:]).count(PAPER_STATUS)):
                    if ANSWERS[self.paper]:
                        conn.sendall(ANSWERS[self.paper])

    def close(self) -> None:
        self._stop = True
        try:
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() blocked in the serving thread
        except OSError:
            pass
        self.server.close()
        time.sleep(0.06)
