"""The sandbox's free ports: outside the range outgoing connections take their ports from."""

from __future__ import annotations

import socket

from sandbox.redis_server import first_ephemeral_port, free_port


def test_a_free_port_is_below_the_ephemeral_range_and_can_be_bound() -> None:
    ports = {free_port() for _ in range(50)}
    assert max(ports) < first_ephemeral_port()
    assert len(ports) > 40  # spread out: parallel tests rarely pick the same one
    with socket.socket() as server:
        server.bind(("127.0.0.1", ports.pop()))
