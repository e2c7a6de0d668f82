"""Benchmark of the redaction pass on adversarial input: throughput, worst case, and how long it holds the GIL.

Run: python bench/bench_redaction.py [--size 1000000] [--runs 3]

For each adversarial shape (one unit repeated to --size characters: long base64/hex/word tokens, long digit
runs, many `=`/`:` pairs, nested quotes, secret keys whose values never close, ...) and for a realistic log
(log lines with secrets and PII in them), it prints:
- MB/s of `redact_log_text` (the log-line pass: secrets, then every PII pattern), from the best of --runs,
  in CPU time of the redacting thread (other processes on a shared machine do not count) and in wall time;
- the longest stall of a thread that only wants to wake every millisecond while the redaction runs:
  how long the redaction held the GIL in one piece (Slack's ack limit is 3 s; before the linear rewrite a
  4,500-character token held it for 4.6 s).
Then the worst case over all shapes.
"""

from __future__ import annotations

import argparse
import random
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.core.redaction import redact_log_text  # noqa: E402

SHAPES = {
    "base64 token": "A",
    "hex token": "ab12",
    "word token": "x_",
    "digit run": "1",
    "spaced digits": "1 ",
    "=/: pairs": "a=b:",
    "nested quotes": "\"'",
    "quoted keys": "'a': ",
    "unclosed secret values": 'password="',
    "secret pairs": "password=",
    "url-encoded pairs": "password%3D",
    "cli flags": "--password ",
    "secret word in one key": "token",
    "dotted run": "a.",
    "dashed run": "a-",
    "at signs": "a@",
    "plus digits": "+1",
    "url schemes": "x://a:",
    "jdbc urls": "jdbc:oracle:a:u/p,",
    "jwt starts": "eyJ-",
    "mixed base64": "aB3/",
    "record openers": "Struct{",
    "pii fields": "first_name=",
    "nric-like": "S1234567",
    "local phones": "9123 ",
    "github prefixes": "ghp_",
    "glued -p": "-p1",
    "bearer": "Bearer ",
}


def realistic_log(size: int) -> str:
    rng = random.Random(7)
    lines = [
        "2026-12-04T09:00:00Z INFO WorkerSourceTask{id=oracle-cdc-connector-0} Committing offsets for 2048 records",
        "2026-12-04T09:00:01Z ERROR Connection refused: jdbc:oracle:thin:debezium/Sup3r!@oracle:1521/ORCL",
        "2026-12-04T09:00:02Z WARN retrying with --password hunter and token ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
        "2026-12-04T09:00:03Z ERROR row rejected: customer_name=Sally Tan email sally.tan@example.com +65 9123 4567",
        '2026-12-04T09:00:04Z DEBUG {"after": {"ID": 1, "NRIC": "S1234567D"}, "op": "c"} card 4111 1111 1111 1111',
        "2026-12-04T09:00:05Z INFO pii-masking-app: processed 100000 records in 1.2 s (lag 4,000)",
    ]
    out: list[str] = []
    total = 0
    while total < size:
        line = rng.choice(lines)
        out.append(line)
        total += len(line) + 1
    return "\n".join(out)[:size]


def measure(text: str, runs: int) -> tuple[float, float, float]:
    """(best CPU seconds, best wall seconds, longest stall of a 1 ms ticker in seconds)."""
    best_cpu = best_wall = float("inf")
    longest = 0.0
    for _ in range(runs):
        stop = threading.Event()
        gaps: list[float] = []

        def tick(stop: threading.Event = stop, gaps: list[float] = gaps) -> None:
            last = time.perf_counter()
            while not stop.is_set():
                time.sleep(0.001)
                now = time.perf_counter()
                gaps.append(now - last)
                last = now

        ticker = threading.Thread(target=tick, daemon=True)
        ticker.start()
        time.sleep(0.01)
        cpu, wall = time.thread_time(), time.perf_counter()
        redact_log_text(text)
        best_cpu = min(best_cpu, time.thread_time() - cpu)
        best_wall = min(best_wall, time.perf_counter() - wall)
        stop.set()
        ticker.join()
        longest = max(longest, max(gaps, default=0.0))
    return best_cpu, best_wall, longest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1_000_000, help="characters per input (default 1 MB)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    inputs = {name: (unit * (args.size // len(unit) + 1))[: args.size] for name, unit in SHAPES.items()}
    inputs["realistic log"] = realistic_log(args.size)
    megabytes = args.size / 1_000_000
    print(f"redact_log_text on {megabytes:g} MB per input, best of {args.runs}")
    print(f"{'input':26} {'MB/s (cpu)':>10} {'MB/s (wall)':>11} {'longest GIL hold':>17}")
    rows = []
    for name, text in inputs.items():
        cpu, wall, stall = measure(text, args.runs)
        rows.append((name, cpu, wall, stall))
        print(f"{name:26} {megabytes / cpu:10.2f} {megabytes / wall:11.2f} {stall * 1000:14.0f} ms", flush=True)
    slowest = max(rows, key=lambda r: r[1])
    stalled = max(rows, key=lambda r: r[3])
    adversarial = [r for r in rows if r[0] != "realistic log"]
    total_cpu = sum(r[1] for r in adversarial)
    print()
    print(f"all {len(adversarial)} adversarial inputs: {megabytes * len(adversarial) / total_cpu:.2f} MB/s (cpu)")
    print(f"worst case: {slowest[0]}: {megabytes / slowest[1]:.2f} MB/s, {slowest[1]:.2f} s cpu for {megabytes:g} MB")
    print(f"longest GIL hold: {stalled[3] * 1000:.0f} ms ({stalled[0]})")


if __name__ == "__main__":
    main()
