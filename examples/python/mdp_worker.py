#!/usr/bin/env python3
"""A Majordomo worker for the Switchboard broker, written with pyzmq and msgpack only.

Speaks 18/MDP by default (streaming with PARTIAL/FINAL) or 7/MDP with --mdp 1, and serves the
RPC envelope described in docs/PROTOCOL.md. Run it next to a broker:

    /usr/bin/python3 mdp_worker.py --broker tcp://127.0.0.1:5556 --service calc
"""

import argparse
import signal
import socket
import sys
import time

import msgpack
import zmq

# Command bytes differ between the two versions (RFC 7 and RFC 18), so they are looked up
# through the version rather than hard-coded at each use.
PROTOCOLS = {
    1: dict(header=b"MDPW01", READY=b"\x01", REQUEST=b"\x02", REPLY=b"\x03",
            HEARTBEAT=b"\x04", DISCONNECT=b"\x05"),
    2: dict(header=b"MDPW02", READY=b"\x01", REQUEST=b"\x02", PARTIAL=b"\x03", FINAL=b"\x04",
            HEARTBEAT=b"\x05", DISCONNECT=b"\x06"),
}
OK, ERROR = b"\x00", b"\x01"


class RemoteError(Exception):
    """An error to send back with a chosen type name rather than the Python exception's."""

    def __init__(self, type_name, message):
        super().__init__(message)
        self.type_name = type_name


def add(a, b):
    return a + b


def echo(x):
    return x


def divide(a, b):
    return a / b  # b == 0 raises ZeroDivisionError, which becomes the error type on the wire


def count(n):
    yield from range(n)


# name -> (function, streams?). A streaming method is a generator: one PARTIAL per item.
METHODS = {"add": (add, False), "echo": (echo, False), "divide": (divide, False),
           "count": (count, True)}


def error_payload(type_name, message):
    return msgpack.packb({"type": type_name, "message": message, "detail": None})


class Worker:
    def __init__(self, args):
        self.endpoint = args.broker
        self.service = args.service.encode()
        self.proto = PROTOCOLS[args.mdp]
        self.version = args.mdp
        self.interval = args.heartbeat_ms / 1000.0
        self.liveness = args.liveness
        self.context = zmq.Context()
        self.socket = None
        self.stopping = False
        # Signals must interrupt a blocking poll without raising in the middle of a multipart
        # send, so the handler only sets a flag and Python pokes this socketpair, which the
        # poller watches next to the broker socket.
        self.wake_r, wake_w = socket.socketpair()
        self.wake_r.setblocking(False)
        wake_w.setblocking(False)
        self._wake_w = wake_w  # keep it alive: set_wakeup_fd does not own it
        signal.set_wakeup_fd(wake_w.fileno())
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._stop)

    def _stop(self, signum, frame):
        self.stopping = True

    def send(self, command, *frames):
        # 7/MDP frames start with an empty delimiter (REQ-compatible); 18/MDP dropped it.
        prefix = [b""] if self.version == 1 else []
        self.socket.send_multipart(prefix + [self.proto["header"], self.proto[command], *frames])
        self.last_sent = time.monotonic()

    def connect(self):
        if self.socket is not None:
            self.socket.close(linger=0)  # a fresh socket gets a fresh identity at the broker
        self.socket = self.context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(self.endpoint)
        self.poller = zmq.Poller()
        self.poller.register(self.socket, zmq.POLLIN)
        self.poller.register(self.wake_r, zmq.POLLIN)
        self.send("READY", self.service)
        self.last_heard = time.monotonic()

    def run(self):
        self.connect()
        print("worker ready", flush=True)
        while not self.stopping:
            # Wake up in time for our next heartbeat even when no traffic arrives.
            timeout = max(0.0, self.last_sent + self.interval - time.monotonic())
            events = dict(self.poller.poll(timeout * 1000))
            if self.stopping:
                break
            if self.socket in events:
                self.last_heard = time.monotonic()  # any command proves the broker is alive
                self.dispatch(self.socket.recv_multipart())
            now = time.monotonic()
            if now - self.last_heard > self.interval * self.liveness:
                print("broker silent, reconnecting", file=sys.stderr, flush=True)
                self.connect()
            elif now - self.last_sent >= self.interval:
                self.send("HEARTBEAT")
        self.send("DISCONNECT")
        # Give the DISCONNECT a moment to leave; without linger it would be dropped on close.
        self.socket.close(linger=1000)
        self.context.term()

    def dispatch(self, frames):
        if self.version == 1:
            frames = frames[1:]  # the empty delimiter
        if len(frames) < 2 or frames[0] != self.proto["header"]:
            print(f"ignoring malformed message {frames!r}", file=sys.stderr, flush=True)
            return
        command, rest = frames[1], frames[2:]
        if command == self.proto["REQUEST"] and len(rest) >= 2:
            client, body = rest[0], rest[2:]
            self.handle(client, body)
        elif command == self.proto["DISCONNECT"]:
            # The broker forgot us (restart, or we were too quiet): start over.
            self.connect()
        # HEARTBEAT needs nothing beyond the liveness bookkeeping done by the caller.

    def reply(self, client, command, rid, status, payload):
        self.send(command, client, b"", rid, status, payload)

    def handle(self, client, body):
        final = "REPLY" if self.version == 1 else "FINAL"
        rid = body[0] if body and body[0] else b"\x00"
        try:
            if len(body) < 3:
                raise RemoteError("MalformedRequest", "expected [request id, method, args]")
            method = body[1].decode("utf-8", "replace")
            args = msgpack.unpackb(body[2], strict_map_key=False)
            if not isinstance(args, list):
                raise RemoteError("MalformedRequest", "args must be a msgpack array")
            if method not in METHODS:
                raise RemoteError("NoSuchMethod", f"{method!r} is not a method of this worker")
            function, streams = METHODS[method]
            if streams and self.version == 1:
                # 7/MDP has exactly one REPLY per REQUEST: there is no way to send a stream.
                raise RemoteError("StreamingUnsupported",
                                  f"{method!r} streams, which needs 18/MDP (run with --mdp 2)")
            result = function(*args)
            if streams:
                for item in result:
                    self.reply(client, "PARTIAL", rid, OK, msgpack.packb(item))
                result = None  # a successful stream ends with a nil FINAL
            self.reply(client, final, rid, OK, msgpack.packb(result))
        except RemoteError as e:
            self.reply(client, final, rid, ERROR, error_payload(e.type_name, str(e)))
        except Exception as e:  # pylint: disable=broad-except
            # Whatever the method raised belongs to the caller, not to this process.
            self.reply(client, final, rid, ERROR, error_payload(type(e).__name__, str(e)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--broker", default="tcp://127.0.0.1:5556", help="broker backend")
    parser.add_argument("--service", default="calc")
    parser.add_argument("--mdp", type=int, choices=(1, 2), default=2,
                        help="1 for 7/MDP (MDPW01), 2 for 18/MDP (MDPW02, streaming)")
    parser.add_argument("--heartbeat-ms", type=int, default=2500)
    parser.add_argument("--liveness", type=int, default=3,
                        help="missed heartbeats before the broker counts as gone")
    args = parser.parse_args()
    if args.heartbeat_ms <= 0 or args.liveness <= 0:
        parser.error("--heartbeat-ms and --liveness must be positive")
    Worker(args).run()


if __name__ == "__main__":
    main()
