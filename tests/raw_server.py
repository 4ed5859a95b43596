"""A raw TCP server for the tests of hostile servers: each connection gets an answer's head, then
more of it for as long as the server lives (a body that never ends, headers dribbled out)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable


def raw_server(head: bytes, more: Callable[[], bytes], seconds: float, pause: float = 0.0) -> tuple[socket.socket, int]:
    """Answer every connection with ``head``, then ``more()`` every ``pause`` s, for at most
    ``seconds`` in all; it stops by itself. (server, port)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    server.settimeout(seconds)

    def serve():
        end = time.monotonic() + seconds
        with server:
            while time.monotonic() < end:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn:
                    try:
                        conn.settimeout(5)
                        conn.recv(4096)
                        conn.sendall(head)
                        while time.monotonic() < end:
                            conn.sendall(more())
                            if pause:
                                time.sleep(pause)
                    except OSError:
                        pass  # the client hung up: the next one

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]
