"""A worker's first contact with its chief: plain gRPC, before Keras (and its start-up) is imported."""

import grpc

from fer_bench.errors import UserError


def parse_address(address: str) -> tuple[str, int]:
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--chief-address {address!r}: expected HOST:PORT, e.g. node1:8000")
    return host, int(port)


def connect(address: str, timeout_s: float) -> grpc.Channel:
    """An open channel to the chief, or one line saying none answered within `timeout_s`."""
    parse_address(address)
    channel = grpc.insecure_channel(address)
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout_s)
    except grpc.FutureTimeoutError:
        channel.close()
        raise UserError(f"--chief-address {address}: no chief answered within {timeout_s:g}s; start one with "
                        "`fer-bench run SPECS --chief --port PORT` (or raise --connect-timeout)") from None
    return channel
