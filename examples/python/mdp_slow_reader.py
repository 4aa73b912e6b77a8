#!/usr/bin/env python3
"""Send many requests without reading, pause, then read: what a slow client gets back.

    /usr/bin/python3 mdp_slow_reader.py calc add 1 2 --count 5000 --pause 4

Prints one line, e.g. "received 5000 of 5000: OK 5000", counting answers by outcome (OK or the
error type, such as QueueFull when the client passed --max-held-per-client). Exit codes: 0 every
request was answered, 1 some were not, 2 bad usage.
"""

import argparse
import collections
import json
import time

import msgpack
import zmq


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("service")
    parser.add_argument("method")
    parser.add_argument("args", nargs="*", metavar="JSON_ARG", help="one JSON value per argument")
    parser.add_argument("--broker", default="tcp://127.0.0.1:5555", help="broker frontend")
    parser.add_argument("--count", type=int, default=5000, help="requests to send")
    parser.add_argument("--pause", type=float, default=4.0, help="seconds before reading")
    parser.add_argument("--timeout-ms", type=int, default=5000,
                        help="give up when no answer comes for this long")
    options = parser.parse_args()
    try:
        args = msgpack.packb([json.loads(arg) for arg in options.args])
    except json.JSONDecodeError as e:
        parser.error(f"argument is not JSON: {e}")

    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(options.broker)
    service, method = options.service.encode(), options.method.encode()
    # 7/MDP, the plainest client there is: [empty, "MDPC01", service, request id, method, args].
    for n in range(options.count):
        sock.send_multipart([b"", b"MDPC01", service, b"%d" % n, method, args])
    time.sleep(options.pause)  # "doing something else": the point of the example

    outcomes = collections.Counter()
    answered = set()
    while len(answered) < options.count and sock.poll(options.timeout_ms):
        frames = sock.recv_multipart()
        # [empty, "MDPC01", service, request id, status, payload]
        answered.add(frames[3])
        if frames[4] == b"\x00":
            outcomes["OK"] += 1
        else:
            outcomes[msgpack.unpackb(frames[5]).get("type", "error")] += 1
    summary = ", ".join(f"{kind} {n}" for kind, n in sorted(outcomes.items()))
    print(f"received {len(answered)} of {options.count}: {summary}", flush=True)
    return 0 if len(answered) == options.count else 1


if __name__ == "__main__":
    raise SystemExit(main())
