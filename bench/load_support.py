"""What the load-check scripts share: nearest-rank percentiles and waiting for the server."""

from __future__ import annotations

import asyncio
import math
import socket
import subprocess
import time

import aiohttp

# What the load checks ask, answered and declined alike, round-robin.
QUESTIONS = (
    "Can I ask an officer to help with party political work?",
    "Can I contact an officer directly, or should I go through their manager?",
    "What should I do if I feel an officer has treated me unfairly?",
    "Who is the monitoring officer and what do they do?",
    "Can officers attend party group meetings?",
    "What time does the recycling centre open?",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)  # nearest rank
    return ordered[min(len(ordered), max(1, math.ceil(p / 100 * len(ordered)))) - 1]


async def wait_healthy(url: str, server: subprocess.Popen, platform: str,
                       timeout: float = 30.0) -> None:
    """Wait until `protocol-bot serve` answers /healthz with `platform` mounted."""
    deadline = time.monotonic() + timeout
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"protocol-bot serve exited with status {server.returncode}")
            try:
                async with session.get(url) as resp:
                    health = await resp.json()
                    if platform in health.get("platforms", []):
                        return
                    raise SystemExit(f"the server is up but {platform} is not mounted: {health}")
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
    raise SystemExit(f"protocol-bot serve did not start within {timeout:.0f} s")
