"""A local TCP proxy that injects network faults between the runtime and a real database.

    with FaultProxy("127.0.0.1", server.port) as proxy:
        ...point the runtime at proxy.port...
        proxy.fault = "reset"        # the next reply: half of it, then a TCP reset
        proxy.fault = "freeze"       # replies stop flowing (the sockets stay open)
        proxy.fault = "cut"          # the next reply is dropped and the client connection closed

A fault applies to the server -> client direction only, once it is armed: the
request reaches the server whole (so "cut" after a COMMIT leaves the write
applied while the client never hears of it). ``fault = None`` passes traffic
through again for connections opened afterwards. Standard library only.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from typing import Self


class FaultProxy:
    """One listening socket on 127.0.0.1; every accepted connection gets two pump threads."""

    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.fault: str | None = None
        self.faults_injected = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, name="fault-proxy", daemon=True).start()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, replies: bool) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                fault = self.fault if replies else None
                if fault == "freeze":
                    self.faults_injected += 1
                    return  # stop forwarding; both sockets stay open until the proxy closes
                if fault in ("reset", "cut"):
                    self.faults_injected += 1
                    if fault == "reset":  # half the reply, then SO_LINGER 0: close() sends RST
                        target.sendall(data[: len(data) // 2])
                        target.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    target.close()
                    source.close()
                    return
                target.sendall(data)
        except OSError:
            pass
        with contextlib.suppress(OSError):
            target.shutdown(socket.SHUT_WR)
