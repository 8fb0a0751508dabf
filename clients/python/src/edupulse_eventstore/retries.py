"""Which failures are worth another try, and how long to wait before it."""

from __future__ import annotations

import random

import grpc

# The call may not have reached the server, or the server failed on its side:
# safe to resend a request whose ids were made before the first try.
RETRYABLE = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.RESOURCE_EXHAUSTED}
)

# A long-lived call (a subscription) is opened again after these, and after its heartbeat went silent.
RECONNECTABLE = RETRYABLE | {grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}


def backoff_seconds(failures: int) -> float:
    """The wait before try number ``failures + 1``: exponential from 0.1 s to 5 s, with jitter."""
    return min(0.1 * 2 ** (failures - 1), 5.0) * (0.5 + random.random() / 2)
