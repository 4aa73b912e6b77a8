"""The broker's side of systemd's Type=notify protocol, with a fake service manager.

  /usr/bin/python3 check_systemd_notify.py SWITCHBOARD

Binds an AF_UNIX datagram socket where systemd's NOTIFY_SOCKET would be and runs the broker with
NOTIFY_SOCKET and WATCHDOG_USEC set, as systemd does for a Type=notify unit with WatchdogSec=,
headless (--no-gui) and with its monitor window (broker on a thread of its own; offscreen).
Each run must show what systemd relies on:
  - READY=1 arrives, and when it does the endpoints named in its STATUS= already accept
    connections (units ordered after the broker start only then);
  - WATCHDOG=1 keeps arriving, several within a second;
  - a stopped process (SIGSTOP) sends no more pings, and sends them again once continued;
  - after SIGTERM, STOPPING=1 arrives and the process exits 0.
Exit 0: all good; else failure, said on stderr.
"""

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

DEADLINE_S = 20
WATCHDOG_USEC = 200000  # pings every 100 ms
MIN_PINGS_PER_SECOND = 3


class Broker:
    def __init__(self, switchboard, arguments, notify_path):
        environment = dict(os.environ, NOTIFY_SOCKET=notify_path,
                           WATCHDOG_USEC=str(WATCHDOG_USEC))
        environment.pop("WATCHDOG_PID", None)
        environment.setdefault("QT_QPA_PLATFORM", "offscreen")
        # A file, not a pipe: a full pipe would block the broker and stop its pings.
        self.stderr = tempfile.TemporaryFile("w+")
        self.process = subprocess.Popen([switchboard] + arguments, env=environment,
                                        stdout=subprocess.DEVNULL, stderr=self.stderr)

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(10)


def fail(message, broker=None):
    if broker is not None:
        broker.stop()
        broker.stderr.seek(0)
        message += "\nbroker's stderr:\n" + broker.stderr.read()
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def receive(notify, timeout_s):
    """The next datagram's assignments, or None once timeout_s has passed."""
    notify.settimeout(max(timeout_s, 0.001))
    try:
        datagram = notify.recv(4096)
    except socket.timeout:
        return None
    return dict(line.split("=", 1) for line in datagram.decode().splitlines() if "=" in line)


def wait_for(notify, key, broker, what):
    """Datagrams up to the one that sets key; fails at the deadline."""
    deadline = time.monotonic() + DEADLINE_S
    seen = []
    while time.monotonic() < deadline:
        message = receive(notify, deadline - time.monotonic())
        if message is None:
            break
        seen.append(message)
        if key in message:
            return message, seen
    fail(f"no {key}=1 within {DEADLINE_S} s {what}; received {seen}", broker)


def connectable(endpoint):
    host, port = re.fullmatch(r"tcp://([\d.]+):(\d+)", endpoint).groups()
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
        return True
    except OSError:
        return False


def process_state(pid):
    with open(f"/proc/{pid}/stat") as file:
        return file.read().rsplit(")", 1)[1].split()[0]


def count_pings(notify, seconds):
    deadline = time.monotonic() + seconds
    pings = 0
    while (remaining := deadline - time.monotonic()) > 0:
        message = receive(notify, remaining)
        if message and message.get("WATCHDOG") == "1":
            pings += 1
    return pings


def check(switchboard, mode, arguments):
    with tempfile.TemporaryDirectory() as directory, \
            socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as notify:
        path = os.path.join(directory, "notify")
        notify.bind(path)
        broker = Broker(switchboard, arguments, path)
        try:
            ready, _ = wait_for(notify, "READY", broker, "after the start")
            # Checked at once: READY=1 must not come before the endpoints are bound.
            endpoints = re.findall(r"tcp://[\d.]+:\d+", ready.get("STATUS", ""))
            if len(endpoints) < 2:
                fail(f"READY=1 came without STATUS= naming the frontend and backend: {ready}",
                     broker)
            for endpoint in endpoints:
                if not connectable(endpoint):
                    fail(f"READY=1 came before {endpoint} accepted connections", broker)
            print(f"{mode}: READY=1 with the endpoints connectable; STATUS={ready['STATUS']}")

            pings = count_pings(notify, 1.0)
            if pings < MIN_PINGS_PER_SECOND:
                fail(f"{pings} WATCHDOG=1 in a second with WATCHDOG_USEC={WATCHDOG_USEC}; "
                     f"expected at least {MIN_PINGS_PER_SECOND}", broker)
            print(f"{mode}: {pings} WATCHDOG=1 in a second")

            broker.process.send_signal(signal.SIGSTOP)
            deadline = time.monotonic() + DEADLINE_S
            while process_state(broker.process.pid) != "T":
                if time.monotonic() > deadline:
                    fail("the broker did not stop on SIGSTOP", broker)
                time.sleep(0.01)  # polling another process's state; nothing to wait on instead
            # What was sent before it stopped, then silence for several intervals.
            while receive(notify, 0.001) is not None:
                pass
            stalled = count_pings(notify, 3 * WATCHDOG_USEC / 1e6)
            broker.process.send_signal(signal.SIGCONT)
            if stalled:
                fail(f"{stalled} WATCHDOG=1 from a stopped broker", broker)
            wait_for(notify, "WATCHDOG", broker, "after SIGCONT")
            print(f"{mode}: no WATCHDOG=1 while stopped, pings again once continued")

            broker.process.send_signal(signal.SIGTERM)
            stopping, _ = wait_for(notify, "STOPPING", broker, "after SIGTERM")
            try:
                code = broker.process.wait(DEADLINE_S)
            except subprocess.TimeoutExpired:
                fail(f"the broker did not exit within {DEADLINE_S} s of SIGTERM", broker)
            if code != 0:
                fail(f"the broker exited {code} after SIGTERM, not 0", broker)
            print(f"{mode}: STOPPING=1 after SIGTERM ({stopping.get('STATUS', '')}), exit 0")
        finally:
            broker.stop()


def main():
    switchboard = sys.argv[1]
    endpoints = ["--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*"]
    check(switchboard, "headless", ["--no-gui"] + endpoints + ["--no-admin"])
    # The monitor window's broker runs on a BrokerThread: its pings come from that thread.
    check(switchboard, "monitor", endpoints + ["--admin", "tcp://127.0.0.1:*"])


if __name__ == "__main__":
    main()
