"""Benchmarks for the health checks and the Slack HTTP path, on the sandbox's real local backends.

Run: python bench/bench_health.py [--runs 10] [--requests 50]

(a) concurrency of a health run: wall time of a full run divided by its slowest single check.
    1.0 means the run takes exactly as long as its slowest check (fully concurrent); 7 checks run
    one after another would give a figure near the sum of their times over the slowest.
(b) time to ack: N signed `/cdc health` requests sent at once to the HTTP endpoint (waitress +
    bolt), time until each HTTP response (the ack Slack waits for; Slack's limit is 3 s), and
    the time until every report has been posted to the (local) Slack Web API.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bot.app.wiring import build_services

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.config import Config  # noqa: E402
from bot.sandbox.demo import Sandbox  # noqa: E402
from bot.sandbox.fake_slack import FakeSlackServer  # noqa: E402
from bot.sandbox.ports import free_port, wait_for_port  # noqa: E402
from bot.sandbox.slack_signing import post_signed, sign, slash_command_body  # noqa: E402
from bot.services import Services  # noqa: E402

SECRET = "bench-signing-secret"


def raw_request(port: int, body: str) -> bytes:
    headers = sign(SECRET, body)
    lines = [
        "POST /slack/events HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        f"Content-Length: {len(body.encode())}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n" + body).encode()


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def bench_concurrency(services: Services, runs: int) -> None:
    services.health()  # warm-up: clients are built on first use
    ratios, walls, slowest, sums = [], [], [], []
    for _ in range(runs):
        report = services.health()
        slow = max(c.duration_ms for c in report.checks)
        ratios.append(report.duration_ms / max(slow, 1))
        walls.append(report.duration_ms)
        slowest.append(slow)
        sums.append(sum(c.duration_ms for c in report.checks))
    print(f"(a) health run, {runs} runs of {len(report.checks)} checks")
    print(f"    wall time        median {statistics.median(walls):.0f} ms  max {max(walls):.0f} ms")
    print(f"    slowest check    median {statistics.median(slowest):.0f} ms")
    print(f"    sum of checks    median {statistics.median(sums):.0f} ms (what running them one by one would cost)")
    print(f"    wall / slowest   median {statistics.median(ratios):.2f}  max {max(ratios):.2f}  (target <= 1.3)")


def burst(slack: FakeSlackServer, port: int, requests: int) -> tuple[list[float], list[int], float]:
    slack.clear()
    bodies = [
        slash_command_body("/cdc", "health", user_id=f"U0USER{i}", response_url=slack.response_url())
        for i in range(requests)
    ]
    # Requests are built, signed and connected before the clock starts, so the figure is the
    # bot's time to ack, not this process's time to make 50 HTTP requests.
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in bodies]
    payloads = [raw_request(port, body) for body in bodies]
    barrier = threading.Barrier(requests)
    acks: list[float] = []
    statuses: list[int] = []
    lock = threading.Lock()
    started_all = time.monotonic()

    def send(sock: socket.socket, payload: bytes) -> None:
        barrier.wait()
        started = time.monotonic()
        sock.sendall(payload)
        head = sock.recv(65536)
        elapsed = time.monotonic() - started
        sock.close()
        with lock:
            acks.append(elapsed * 1000)
            statuses.append(int(head.split(b" ", 2)[1]))

    threads = [threading.Thread(target=send, args=pair) for pair in zip(sockets, payloads, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slack.wait_for("chat.postMessage", count=requests, timeout=120)
    all_posted = time.monotonic() - started_all
    time.sleep(1)  # let the bot settle before the next round
    return acks, statuses, all_posted


def bench_ack(config_path: str, requests: int, rounds: int) -> None:
    # The bot runs as `cdc-bot serve` in its own process, as in production; the load generator and
    # the local Slack Web API live in this one, so they do not compete with the bot for its GIL.
    slack = FakeSlackServer().start()
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.bot_token,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": slack.api_url,
        "CDC_BOT_DATABASE_URL": "sqlite://",
        "CDC_BOT_LOG_LEVEL": "WARNING",
    }
    env.pop("SLACK_APP_TOKEN", None)
    bot = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bot.app.cli",
            "serve",
            "--config",
            config_path,
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--no-scheduler",
        ],
        env=env,
    )
    try:
        wait_for_port(port, timeout=30)
        url = f"http://127.0.0.1:{port}/slack/events"
        # Warm-up, so the first measured request does not pay for imports and auth.test.
        for text in ("help", "health"):
            post_signed(
                url, slash_command_body("/cdc", text, user_id="U0OPERATOR", response_url=slack.response_url()), SECRET
            )
        slack.wait_for("chat.postMessage", timeout=30)
        p50s, p99s, posted_after, ok = [], [], [], 0
        for _ in range(rounds):
            acks, statuses, all_posted = burst(slack, port, requests)
            p50s.append(percentile(acks, 50))
            p99s.append(percentile(acks, 99))
            posted_after.append(all_posted)
            ok += statuses.count(200)
        print(f"(b) {rounds} rounds of {requests} concurrent signed /cdc health requests to `cdc-bot serve` (HTTP)")
        print(f"    HTTP 200 acks    {ok}/{rounds * requests}")
        print(f"    p50 per round    {', '.join(f'{v:.0f}' for v in p50s)} ms")
        print(f"    p99 per round    {', '.join(f'{v:.0f}' for v in p99s)} ms")
        print(
            f"    time to ack      median p50 {statistics.median(p50s):.1f} ms  median p99 "
            f"{statistics.median(p99s):.1f} ms  worst p99 {max(p99s):.1f} ms"
            "  (target p99 < 100 ms; Slack allows 3,000 ms)"
        )
        print(f"    all {requests} reports posted after {statistics.median(posted_after):.2f} s (median)")
    finally:
        bot.terminate()
        bot.wait(10)
        slack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5, help="bursts of --requests, one after another")
    args = parser.parse_args()
    print("starting the sandbox …", flush=True)
    with Sandbox() as sandbox:
        config = Config.model_validate(sandbox.config())
        services = build_services(config, database_url="sqlite://")
        bench_concurrency(services, args.runs)
        with tempfile.TemporaryDirectory() as tmp:
            bench_ack(str(sandbox.write_config(Path(tmp) / "bench.yml")), args.requests, args.rounds)


if __name__ == "__main__":
    main()
