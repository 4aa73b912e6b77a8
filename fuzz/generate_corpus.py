#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets: fuzz/corpus/<target>/seed-<name>.

Each seed is one multipart message in the input framing of fuzz/fuzzframes.h (a frame is a
length byte and its bytes; 0xff then a 16-bit big-endian length for frames of 255 bytes and more).
Seeds are small valid and almost-valid messages of both MDP versions, client and worker, every
command, RPC envelopes with OK and error replies, and admin requests and replies, written from docs/PROTOCOL.md rather than
with the C++ builders. Rerun after changing this file; it replaces the seed-* files and leaves
everything else in the corpus (the regression-* inputs the fuzzers found) alone.

Uses only Debian's python3-msgpack, as examples/python does: /usr/bin/python3 fuzz/generate_corpus.py
"""

import pathlib

import msgpack

CORPUS = pathlib.Path(__file__).resolve().parent / "corpus"

E = b""  # an empty frame
IDENTITY = b"\x00\x80\x00\x41\xa7"  # what a ROUTER puts in front of a peer's message
RID = b"\x00\x00\x00\x07"  # a request id
ARGS = msgpack.packb(["hi", 2])


def framed(frames):
    """The fuzz input for a list of frames."""
    out = bytearray()
    for frame in frames:
        if len(frame) < 0xFF:
            out.append(len(frame))
        else:
            assert len(frame) <= 0xFFFF, "the framing caps frames at 65535 bytes"
            out += b"\xff" + len(frame).to_bytes(2, "big")
        out += frame
    return bytes(out)


def error_map(type_, message, detail=None, **extra):
    """The error payload of docs/PROTOCOL.md section 6, keys in the documented order."""
    return msgpack.packb({"type": type_, "message": message, "detail": detail, **extra})


# Bodies, as the envelope fuzzer sees them (from frame 0) and as MDP messages carry them.
REQUEST = [RID, b"upper", ARGS]
REPLY_OK = [RID, b"\x00", msgpack.packb("HI")]
REPLY_ERROR = [RID, b"\x01", error_map("ServiceUnavailable", "no worker for 'echo'")]
STREAM_END = [RID, b"\x00", msgpack.packb(None)]

BODIES = {
    # Requests.
    "request": REQUEST,
    "request-no-args": [b"1", b"ping", msgpack.packb([])],
    # The options frame after args (docs/PROTOCOL.md section 6), as clientlib sends it, with an
    # unknown key, and the malformed kinds the broker answers MalformedRequest.
    "request-options": REQUEST + [msgpack.packb({"timeout_ms": 5000, "idempotent": True})],
    "request-options-unknown-key": REQUEST + [msgpack.packb({"priority": [1], 7: "x"})],
    "request-options-timeout-zero": REQUEST + [msgpack.packb({"timeout_ms": 0})],
    "request-options-timeout-huge": REQUEST + [msgpack.packb({"timeout_ms": 2**40})],
    "request-options-not-a-map": REQUEST + [msgpack.packb([1])],
    "request-every-type": [
        b"2",
        b"math.add v2 \xc3\xa9",
        msgpack.packb([None, True, -1, 2**40, 1.5, "s", b"bin", {"k": [1]}, []])
        + b"",
    ],
    "request-ext-and-float32": [b"3", b"m", bytes.fromhex("92 d4 01 02 ca 3f c0 00 00")],
    "request-reserved-frames": REQUEST + [b"later", E],
    "request-nested": [b"4", b"m", b"\x91" * 40 + b"\x90"],
    "request-describe": [b"5", b"switchboard.describe", msgpack.packb([])],
    "request-255-byte-id": [b"r" * 255, b"m", ARGS],
    # Replies.
    "reply-ok": REPLY_OK,
    "reply-stream-end": STREAM_END,
    "reply-error": REPLY_ERROR,
    "reply-error-empty-id": [E, b"\x01", error_map("MalformedRequest", "no body")],
    "reply-error-detail": [RID, b"\x01", error_map("NotImplemented", "mmi.nope", "501")],
    "reply-error-detail-list": [
        RID,
        b"\x01",
        error_map("ValueError", "bad", ["f.py:1", "g.py:2"], code=7),
    ],
    "reply-error-keys-reordered": [
        RID,
        b"\x01",
        msgpack.packb({"detail": 1.5, "message": "m", 1: None, "type": "T"}),
    ],
    "reply-error-detail-ext": [
        RID,
        b"\x01",
        bytes.fromhex("83 a4") + b"type" + bytes.fromhex("a1") + b"T"
        + bytes.fromhex("a7") + b"message" + bytes.fromhex("a1") + b"m"
        + bytes.fromhex("a6") + b"detail" + bytes.fromhex("c7 02 05 aa bb"),
    ],
    # Almost valid.
    "request-args-truncated": [b"1", b"add", b"\x92\x01"],
    "request-args-trailing-byte": [b"1", b"add", ARGS + b"\xc0"],
    "request-args-a-map": [b"1", b"add", msgpack.packb({"a": 1})],
    "request-args-array32-huge": [b"1", b"add", b"\xdd\xff\xff\xff\xff"],
    "request-args-ext32-huge": [b"1", b"add", b"\x91\xc9\xff\xff\xff\xff\x01"],
    "request-args-never-used-byte": [b"1", b"add", b"\x91\xc1"],
    "request-method-control-byte": [b"1", b"ad\td", ARGS],
    "request-empty-id": [E, b"add", ARGS],
    "request-256-byte-method": [b"1", b"m" * 256, ARGS],
    "reply-status-2": [RID, b"\x02", msgpack.packb(3)],
    "reply-two-byte-status": [RID, b"\x00\x00", msgpack.packb(3)],
    "reply-error-missing-message": [RID, b"\x01", msgpack.packb({"type": "T"})],
    "reply-error-type-binary": [RID, b"\x01", msgpack.packb({"type": b"T", "message": "m"})],
    "reply-error-map32-huge": [RID, b"\x01", b"\xdf\xff\xff\xff\xff"],
    "reply-error-str32-huge": [RID, b"\x01", b"\x81\xdb\xff\xff\xff\xff"],
    "reply-error-detail-deep": [
        RID,
        b"\x01",
        bytes.fromhex("83 a4") + b"type" + b"\xa1T" + b"\xa7message" + b"\xa1m"
        + b"\xa6detail" + b"\x91" * 40 + b"\x90",
    ],
}

# Frames for the error map round trip of fuzz_envelope: type, message, detail, request id.
ERROR_STRINGS = {
    "strings-error": [b"RuntimeError", b"boom", b"Traceback (most recent call last):\n", RID],
    "strings-binary": [b"\x00\xff", b"caf\xc3\xa9\x00x", E, b"r" * 256],
}


def client_v01(service, body):
    return [E, b"MDPC01", service] + body


def client_v02(command, service, body):
    return [b"MDPC02", bytes([command]), service] + body


def worker_v01(command, *rest):
    return [E, b"MDPW01", bytes([command])] + list(rest)


def worker_v02(command, *rest):
    return [b"MDPW02", bytes([command])] + list(rest)


CLIENT = b"\x00\x80\x00\x00\x29"  # a client address, as the broker's ROUTER names it
TAGGED = CLIENT + b"\x00\x00\x00\x07"  # as a worker with credit is sent it (PROTOCOL.md 11.1)

MESSAGES = {
    # 7/MDP client: REQUEST and REPLY look alike.
    "c01-request": client_v01(b"echo", REQUEST),
    "c01-request-router": [IDENTITY] + client_v01(b"echo", REQUEST),
    "c01-reply-ok": client_v01(b"echo", REPLY_OK),
    "c01-reply-error": client_v01(b"echo", REPLY_ERROR),
    "c01-mmi-raw": client_v01(b"mmi.service", [b"echo"]),
    # 18/MDP client: REQUEST, PARTIAL, FINAL.
    "c02-request": client_v02(0x01, b"echo", REQUEST),
    "c02-request-router": [IDENTITY] + client_v02(0x01, b"echo", REQUEST),
    "c02-partial": client_v02(0x02, b"echo", REPLY_OK),
    "c02-final": client_v02(0x03, b"echo", STREAM_END),
    "c02-final-error": client_v02(0x03, b"echo", REPLY_ERROR),
    "c02-mmi-raw": client_v02(0x01, b"mmi.services", [b"x"]),
    # 7/MDP worker: READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT.
    "w01-ready": worker_v01(0x01, b"echo"),
    "w01-ready-router": [IDENTITY] + worker_v01(0x01, b"echo"),
    "w01-request": worker_v01(0x02, CLIENT, E, *REQUEST),
    "w01-reply": worker_v01(0x03, CLIENT, E, *REPLY_OK),
    "w01-heartbeat": worker_v01(0x04),
    "w01-disconnect": worker_v01(0x05),
    # DECLINE (credit extension, docs/PROTOCOL.md 11.2): 0x06 in 7/MDP, 0x07 in 18/MDP.
    "w01-decline": worker_v01(0x06, TAGGED),
    # 18/MDP worker: READY, REQUEST, PARTIAL, FINAL, HEARTBEAT, DISCONNECT.
    "w02-ready": worker_v02(0x01, b"echo"),
    "w02-ready-credit": worker_v02(0x01, b"echo", b"credit=32"),
    "w02-request": worker_v02(0x02, CLIENT, E, *REQUEST),
    "w02-partial": worker_v02(0x03, CLIENT, E, *REPLY_OK),
    "w02-final": worker_v02(0x04, CLIENT, E, *STREAM_END),
    "w02-final-error-router": [IDENTITY] + worker_v02(0x04, CLIENT, E, *REPLY_ERROR),
    "w02-heartbeat": worker_v02(0x05),
    "w02-disconnect": worker_v02(0x06),
    "w02-decline": worker_v02(0x07, TAGGED),
    "w02-decline-router": [IDENTITY] + worker_v02(0x07, TAGGED),
    # Almost valid.
    "bad-c01-no-empty-frame": [b"MDPC01", b"echo"] + REQUEST,
    "bad-c02-empty-frame": [E, b"MDPC02", b"\x01", b"echo"] + REQUEST,
    "bad-c01-no-body": client_v01(b"echo", []),
    "bad-c02-unknown-command": client_v02(0x04, b"echo", REQUEST),
    "bad-c02-two-byte-command": [b"MDPC02", b"\x01\x00", b"echo"] + REQUEST,
    "bad-c02-empty-service": client_v02(0x01, E, REQUEST),
    "bad-c02-256-byte-service": client_v02(0x01, b"s" * 256, REQUEST),
    "bad-c01-service-control-byte": client_v01(b"ec\nho", REQUEST),
    "bad-w01-ready-extra-frame": worker_v01(0x01, b"echo", b"x"),
    "bad-w02-heartbeat-extra-frame": worker_v02(0x05, E),
    "bad-w02-unknown-command": worker_v02(0x08),
    "bad-w01-unknown-command": worker_v01(0x07, CLIENT, E, *REPLY_OK),
    "bad-w01-partial": worker_v01(0x06, CLIENT, E, *REPLY_OK),  # 0x06 is DECLINE: too many frames
    "bad-w02-decline-no-address": worker_v02(0x07),
    "bad-w02-decline-empty-address": worker_v02(0x07, E),
    "bad-w01-decline-extra-frame": worker_v01(0x06, TAGGED, E),
    "bad-w02-empty-client": worker_v02(0x04, E, E, *REPLY_OK),
    "bad-w01-no-delimiter": worker_v01(0x03, CLIENT, b"x", *REPLY_OK),
    "bad-w02-no-body": worker_v02(0x04, CLIENT, E),
    "bad-client-header-to-worker": [b"MDPW02", b"\x01", b"echo", b"x"],
    "bad-w02-255-byte-service": worker_v02(0x01, b"s" * 255),
}


# Admin requests (docs/PROTOCOL.md, "Admin protocol") as the broker's ROUTER reads them, replies as
# a DEALER does, and error payloads.
ADMIN = {
    "snapshot": [IDENTITY, b"SBADM1", b"1", b"snapshot", b"\x80"],
    "snapshot-req": [IDENTITY, E, b"SBADM1", b"a-1", b"snapshot", b"\x80"],
    "evict": [IDENTITY, b"SBADM1", b"2", b"evict", msgpack.packb({"identity": b"math-1"})],
    "reply-ok": [b"SBADM1", b"1", b"\x00", msgpack.packb({"identity": b"w", "requestsLost": 1})],
    "reply-error": [b"SBADM1", b"2", b"\x01",
                    msgpack.packb({"type": "NoSuchWorker", "message": "no worker"})],
    "bad-no-args": [IDENTITY, b"SBADM1", b"3", b"snapshot"],
    "bad-command-control-byte": [IDENTITY, b"SBADM1", b"4", b"snap\x01", b"\x80"],
    "bad-reply-status": [b"SBADM1", b"5", b"\x02", b"\x80"],
}


# fuzz_routing reads a script, not frames (fuzz_routing.cpp): an op byte and its arguments. These
# are the scenarios worth starting from; the fuzzer mutates them into the orders that matter.
READY_W0_ECHO, READY_W1_ECHO = bytes([3, 0x00]), bytes([3, 0x01])
REQUEST_C0_ECHO, REQUEST_C1_IDEMPOTENT = bytes([2, 0x00, 1]), bytes([2, 0x28, 2])
REQUEST_NOBODY_TIMEOUT = bytes([2, 0x16, 3, 4])
ANSWER_W0, PARTIAL_W0 = bytes([4, 0x00]), bytes([4, 0x08])
TICK_200MS, TICK_2S = bytes([6, 25]), bytes([6, 250])
CREDIT2_W0, CREDIT2_W1, DECLINE_W0 = bytes([3, 0x81]), bytes([3, 0xC1]), bytes([4, 0x81])
ROUTING = {
    "request-answer": READY_W0_ECHO + REQUEST_C0_ECHO + ANSWER_W0,
    "queue-then-worker": REQUEST_C0_ECHO + REQUEST_C1_IDEMPOTENT + READY_W0_ECHO + ANSWER_W0
    + ANSWER_W0,
    "stream": READY_W0_ECHO + REQUEST_C0_ECHO + PARTIAL_W0 + PARTIAL_W0 + ANSWER_W0,
    "seven-mdp-client-stream": READY_W0_ECHO + bytes([2, 0x01, 1]) + PARTIAL_W0 + ANSWER_W0,
    "idempotent-worker-dies": READY_W0_ECHO + READY_W1_ECHO + REQUEST_C1_IDEMPOTENT
    + bytes([5, 0x08]) + ANSWER_W0 + bytes([4, 0x01]),
    "expiry": REQUEST_NOBODY_TIMEOUT + TICK_200MS + TICK_2S,
    "silent-worker": READY_W0_ECHO + REQUEST_C0_ECHO + TICK_200MS + TICK_200MS + TICK_200MS,
    "closed-connection": READY_W0_ECHO + REQUEST_C0_ECHO + bytes([7, 1]) + ANSWER_W0,
    "evict": READY_W0_ECHO + REQUEST_C0_ECHO + PARTIAL_W0 + bytes([8, 0]) + ANSWER_W0,
    "slow-client": bytes([9, 0x00]) + READY_W0_ECHO + REQUEST_C0_ECHO + ANSWER_W0
    + REQUEST_C0_ECHO + ANSWER_W0 + bytes([9, 0x04]) + TICK_200MS,
    "client-gone": READY_W0_ECHO + REQUEST_C0_ECHO + bytes([9, 0x08]) + ANSWER_W0,
    "worker-gone-at-send": READY_W0_ECHO + READY_W1_ECHO + bytes([9, 0x0c]) + REQUEST_C0_ECHO,
    "mmi": READY_W0_ECHO + bytes([2, 0x04, 1]),
    "raw-garbage": bytes([0, 6, 5]) + b"MDPC0" + bytes([1, 4]) + b"\x01\x02\x03\x04",
    "raw-worker": READY_W0_ECHO + bytes([1, 8, 6]) + b"MDPW02" + bytes([1]) + b"\x07",
    # w1 with credit 3 (READY flags 0x82) takes three requests of one client, answers them
    # oldest-but-one, oldest, newest (answer flags 0x22, 0x43, 0x01), takes two more and leaves.
    "credit-worker": bytes([3, 0x82]) + REQUEST_C0_ECHO * 3 + bytes([4, 0x22, 4, 0x43, 4, 0x01])
    + REQUEST_C0_ECHO + REQUEST_C1_IDEMPOTENT + bytes([5, 0x0a]),
    # DECLINE (answer flags with bit 7 set): w0 and w1 with credit 2 (READY flags 0x81, 0xc1);
    # w0 declines the request it got (0x81) and w1 answers it (0x01).
    "decline-to-other-worker": CREDIT2_W0 + CREDIT2_W1 + REQUEST_C0_ECHO + DECLINE_W0
    + bytes([4, 0x01]),
    # Alone, w0 declines the newer of two, answers the older (0x20): nothing reaches it until
    # its HEARTBEAT (5, 0x00); the declined request comes back and is answered.
    "decline-then-heartbeat": CREDIT2_W0 + REQUEST_C0_ECHO + REQUEST_C1_IDEMPOTENT + DECLINE_W0
    + bytes([4, 0x20]) + TICK_200MS + bytes([5, 0x00]) + ANSWER_W0,
    # Violations: a plain worker declines; a worker declines a request it streamed.
    "decline-without-credit": READY_W0_ECHO + REQUEST_C0_ECHO + DECLINE_W0,
    "decline-after-partial": CREDIT2_W0 + REQUEST_C0_ECHO + PARTIAL_W0 + DECLINE_W0,
    # The declined request keeps its deadline (timeout 4 * 8 ms + 1) while w0 stays closed.
    "decline-expires": CREDIT2_W0 + bytes([2, 0x10, 1, 4]) + DECLINE_W0 + TICK_200MS,
}


def write(target, seeds, encode=framed):
    """Each seed as `encode` makes it: framed frames, or a routing script as it is (bytes)."""
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("seed-*"):
        old.unlink()
    for name, seed in seeds.items():
        (folder / f"seed-{name}").write_bytes(encode(seed))
    print(f"{folder.relative_to(CORPUS.parent.parent)}: {len(seeds)} seeds")


def main():
    write("fuzz_mdp", MESSAGES)
    write("fuzz_envelope", {**BODIES, **ERROR_STRINGS})
    write("fuzz_admin", ADMIN)
    write("fuzz_routing", ROUTING, encode=bytes)


if __name__ == "__main__":
    main()
