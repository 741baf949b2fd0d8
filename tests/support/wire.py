"""Requests as bytes on a socket: headers and bodies that urllib would not send."""

from __future__ import annotations

import socket

from tests.conftest import RunningServer


def raw_request(
    server: RunningServer, head: bytes, body: bytes = b"", *, timeout: float = 10
) -> tuple[int, bytes]:
    """Send bytes as they are (headers we choose, bodies urllib would not send) and read the answer."""
    with socket.create_connection(("127.0.0.1", server.server.effective_port), timeout=timeout) as sock:
        sock.sendall(head + body)
        sock.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
