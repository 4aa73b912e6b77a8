#!/usr/bin/env python3
"""Call one method of a Switchboard service, written with pyzmq and msgpack only.

    /usr/bin/python3 mdp_client.py calc add 2 3            # prints 5
    /usr/bin/python3 mdp_client.py calc count 3            # prints 0, 1, 2 (one line each)
    /usr/bin/python3 mdp_client.py mmi.services list       # names of the services with workers

Each argument after METHOD is one JSON value. Exit codes: 0 ok, 1 remote error (printed as
"error: <type>: <message>" on stderr), 2 bad usage, 3 no answer within --timeout-ms.
"""

import argparse
import json
import os
import sys
import time

import msgpack
import zmq

# 18/MDP client commands (RFC 18). 7/MDP clients have no command frame at all.
REQUEST, PARTIAL, FINAL = b"\x01", b"\x02", b"\x03"
OK = b"\x00"


def request_frames(version, service, body):
    if version == 1:
        # A DEALER must add the empty delimiter itself, where a REQ socket would add it for us.
        return [b"", b"MDPC01", service] + body
    return [b"MDPC02", REQUEST, service] + body


def parse_reply(version, frames):
    """Returns (is_final, body frames) of one broker message."""
    if version == 1:
        if len(frames) < 3 or frames[:2] != [b"", b"MDPC01"]:
            raise ValueError(f"not a 7/MDP reply: {frames!r}")
        return True, frames[3:]
    if len(frames) < 3 or frames[0] != b"MDPC02" or frames[1] not in (PARTIAL, FINAL):
        raise ValueError(f"not a 18/MDP reply: {frames!r}")
    return frames[1] == FINAL, frames[3:]


def to_json(value):
    # msgpack may carry raw bytes, which JSON cannot: show them as text when they are text.
    return json.dumps(value, default=lambda b: b.decode("utf-8", "backslashreplace"))


def main():
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="example: mdp_client.py calc add 2 3")
    parser.add_argument("service", help='e.g. "calc", or "mmi.services" to ask the broker')
    parser.add_argument("method", help="method name; MMI services ignore it")
    parser.add_argument("args", nargs="*", metavar="JSON_ARG", help="one JSON value per argument")
    parser.add_argument("--broker", default="tcp://127.0.0.1:5555", help="broker frontend")
    parser.add_argument("--mdp", type=int, choices=(1, 2), default=2,
                        help="1 for 7/MDP (MDPC01), 2 for 18/MDP (MDPC02, streaming)")
    parser.add_argument("--timeout-ms", type=int, default=5000)
    options = parser.parse_args()
    try:
        args = [json.loads(arg) for arg in options.args]
    except json.JSONDecodeError as e:
        parser.error(f"argument is not JSON: {e} (quote strings: '\"text\"')")

    context = zmq.Context()
    sock = context.socket(zmq.DEALER)
    sock.linger = 0
    sock.connect(options.broker)

    # The broker hands the id back untouched; a unique one lets us drop late replies to earlier
    # calls, which matters once a client makes more than one call on the same socket.
    request_id = os.getpid().to_bytes(4, "big") + os.urandom(4)
    body = [request_id, options.method.encode(), msgpack.packb(args)]
    sock.send_multipart(request_frames(options.mdp, options.service.encode(), body))

    # One deadline for the whole call, so a slow stream cannot stretch it item by item.
    deadline = time.monotonic() + options.timeout_ms / 1000.0
    streamed = False
    while True:
        remaining_ms = max(0, int((deadline - time.monotonic()) * 1000))
        if not sock.poll(remaining_ms):
            print("error: timeout", file=sys.stderr)
            return 3
        try:
            final, reply = parse_reply(options.mdp, sock.recv_multipart())
        except ValueError as e:
            print(f"error: ProtocolError: {e}", file=sys.stderr)
            return 1
        if len(reply) < 3 or reply[0] != request_id:
            continue  # not ours
        status, payload = reply[1], msgpack.unpackb(reply[2], strict_map_key=False)
        if status != OK:
            error = payload if isinstance(payload, dict) else {"type": "?", "message": payload}
            print(f"error: {error.get('type')}: {error.get('message')}", file=sys.stderr)
            return 1
        if not final:
            streamed = True
            print(to_json(payload), flush=True)
        elif not streamed or payload is not None:
            # A stream ends with a nil FINAL that is not an item; a plain call prints its result.
            print(to_json(payload), flush=True)
        if final:
            return 0


if __name__ == "__main__":
    sys.exit(main())
