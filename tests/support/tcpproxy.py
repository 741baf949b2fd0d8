"""A local TCP proxy in front of a database that can refuse or freeze connections, for fault drills.

``refuse()`` closes every connection and refuses new ones (a database that is down); ``freeze()``
keeps the connections open but passes no byte either way (a database that hangs: the TCP peer is
alive, nothing answers); ``restore()`` goes back to forwarding.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
import time
from typing import Literal

Mode = Literal["forward", "refuse", "freeze"]


class TcpProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.mode: Mode = "forward"
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.pairs: list[tuple[socket.socket, socket.socket]] = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.mode == "refuse":
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                client.close()  # a reset, as from a port nobody listens on
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, upstream))
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        try:
            while not self.closed:
                if self.mode == "refuse":
                    break
                if self.mode == "freeze":
                    time.sleep(0.05)  # hold everything (unread): the peer waits forever
                    continue
                ready, _, _ = select.select([a, b], [], [], 0.05)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (b if sock is a else a).sendall(data)
        except OSError:
            pass
        finally:
            for sock in (a, b):
                with contextlib.suppress(OSError):
                    sock.close()

    def refuse(self) -> None:
        self.mode = "refuse"

    def freeze(self) -> None:
        self.mode = "freeze"

    def restore(self) -> None:
        self.mode = "forward"

    def close(self) -> None:
        self.closed = True
        self.listener.close()
