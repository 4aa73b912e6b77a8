#!/usr/bin/env python3
"""Syscalls per request of the routing thread: the broker's (the event loop of the switchboard
executable, its main thread with --no-gui) and zmq_proxy's (bench-proxy), each with its
process's libzmq I/O thread, from one `bench_broker --processes --reps 1` run.

    bench/syscalls_per_request.py BUILD/bench/bench_broker --case lat_1x1 --requests 2000 \
        [--tool perf|strace] [--switchboard PATH]

Prints one line per mode: the requests (measured + warm-up), then per request the routing
thread's syscalls (total, and the most frequent by name) and the I/O thread's. A routing thread is
counted from its event loop's first poll of several fds (broker) or its first syscall (proxy), so
start-up is not. --tool perf (the default) counts the raw_syscalls:sys_enter tracepoint and
leaves the programs at full speed; --tool strace runs them under `strace -f -ff`, which slows
every syscall down by tens of microseconds, so counts that depend on time (libzmq looks at a
socket's mailbox on a send only if about a millisecond passed since it last did; more messages
wait per wake-up) differ from full speed. Compare counts taken the same way.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile

# x86-64 numbers of the syscalls these threads make (perf's tracepoint gives numbers only).
NAMES = {0: "read", 1: "write", 7: "poll", 39: "getpid", 44: "sendto", 45: "recvfrom",
         46: "sendmsg", 47: "recvmsg", 202: "futex", 228: "clock_gettime", 232: "epoll_wait",
         233: "epoll_ctl", 271: "ppoll", 281: "epoll_pwait"}


class Thread:
    def __init__(self):
        self.name = None
        self.process = None  # tid of the process's main thread
        self.executable = None
        self.role = None
        self.calls = []  # (syscall name, how many fds it polls or 0)


def is_loop_poll(call):
    return call[0] == "poll" and call[1] >= 3  # glib's poll; libzmq's own look at one fd


def strace_threads(command, directory):
    bench = subprocess.run(["strace", "-f", "-ff", "-o", os.path.join(directory, "t")] + command,
                           check=True, capture_output=True, text=True)
    threads = collections.defaultdict(Thread)
    syscall = re.compile(r"^([a-z_0-9]+)\(")
    clone = re.compile(r"^clone3?\((.*)\)\s+= (\d+)$")
    for entry in os.listdir(directory):
        tid = int(entry.rpartition(".")[2])
        thread = threads[tid]
        with open(os.path.join(directory, entry), errors="replace") as trace:
            for line in trace:
                match = syscall.match(line)
                if not match:
                    continue
                name = match.group(1)
                thread.calls.append((name, line.count("fd=") if name == "poll" else 0))
                if name == "execve":
                    thread.executable = os.path.basename(line.split('"')[1])
                    role = re.search(r'"--role", "([a-z]+)"', line)
                    thread.role = role.group(1) if role else None
                elif name == "prctl" and "PR_SET_NAME" in line and thread.name is None:
                    thread.name = line.split('"')[1]
                else:
                    cloned = clone.match(line.strip())
                    if cloned and "CLONE_THREAD" in cloned.group(1):
                        threads[int(cloned.group(2))].process = tid
    for tid, thread in threads.items():
        thread.process = thread.process or tid
    return threads, bench.stdout


def perf_threads(command, directory):
    data = os.path.join(directory, "perf.data")
    bench = subprocess.run(["perf", "record", "-q", "-e", "raw_syscalls:sys_enter", "-o", data,
                            "--"] + command, check=True, capture_output=True, text=True)
    script = subprocess.run(["perf", "script", "-i", data, "-F", "comm,pid,tid,trace"],
                            check=True, capture_output=True, text=True).stdout
    threads = collections.defaultdict(Thread)
    line_format = re.compile(r"^\s*(.+?)\s+(\d+)/(\d+)\s+NR (\d+) \(([^)]*)\)")
    for line in script.splitlines():
        match = line_format.match(line)
        if not match:
            continue
        comm, pid, tid, number, args = match.groups()
        thread = threads[int(tid)]
        thread.process = int(pid)
        thread.name = comm  # the last name it had: the thread's own, or the executable's
        number = int(number)
        fds = int(args.split(",")[1], 16) if number == 7 else 0
        thread.calls.append((NAMES.get(number, f"NR{number}"), fds))
    for tid, thread in threads.items():
        if tid == thread.process and thread.name == "switchboard":
            thread.executable = "switchboard"
        if thread.name == "bench-proxy":
            threads[thread.process].role = "proxy"
    return threads, bench.stdout


def per_request(calls, requests):
    counts = collections.Counter(name for name, _ in calls)
    top = ", ".join(f"{name} {n / requests:.1f}" for name, n in counts.most_common(4))
    return f"{len(calls) / requests:.1f} ({top})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("bench_broker")
    parser.add_argument("--case", required=True)
    parser.add_argument("--requests", type=int, required=True)
    parser.add_argument("--tool", choices=("perf", "strace"), default="perf")
    parser.add_argument("--switchboard")
    args = parser.parse_args()

    command = [args.bench_broker, "--processes", "--case", args.case, "--reps", "1",
               "--requests", str(args.requests)]
    if args.switchboard:
        command += ["--switchboard", args.switchboard]
    directory = tempfile.mkdtemp(prefix="syscalls-")
    try:
        collect = perf_threads if args.tool == "perf" else strace_threads
        threads, output = collect(command, directory)
    except subprocess.CalledProcessError as error:
        sys.exit(f"{error.cmd[0]} failed: {error.stderr}")
    finally:
        shutil.rmtree(directory)
    result = [line for line in output.splitlines() if line.startswith("case=")][-1]
    fields = dict(field.split("=", 1) for field in result.split())
    clients, inflight = int(fields["clients"]), int(fields["inflight"])
    # The warm-up as the --processes client role takes it: a share of 500 per client, at least
    # its window.
    requests = int(fields["requests"]) + clients * max(500 // clients, inflight)

    for mode in ("broker", "proxy"):
        if mode == "broker":
            process = [t for t, th in threads.items() if th.executable == "switchboard"][0]
            calls = threads[process].calls
            first = next(i for i, call in enumerate(calls) if is_loop_poll(call))
            routing = calls[first:]
        else:
            process = [t for t, th in threads.items() if th.role == "proxy"][0]
            routing = [th for th in threads.values()
                       if th.process == process and th.name == "bench-proxy"][0].calls
        io = [th for th in threads.values() if th.process == process and th.name == "ZMQbg/IO/0"]
        print(f"tool={args.tool} mode={mode} case={args.case} requests={requests} "
              f"routing_thread={per_request(routing, requests)} "
              f"io_thread={per_request(io[0].calls if io else [], requests)}")


if __name__ == "__main__":
    main()
