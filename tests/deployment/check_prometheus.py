"""A real Prometheus scrapes a real broker, and the shipped alert rules and dashboard are checked
against what the broker exports.

  /usr/bin/python3 check_prometheus.py SWITCHBOARD RESOURCES_DIR

Runs the broker with --metrics on loopback, a plain 7/MDP worker (echo, 20 ms a request) and a
plain 7/MDP client in this process; while they work, /metrics passes `promtool check metrics`.
Then Prometheus (Debian's `prometheus` package) scrapes the broker every 200 ms with the alert
rules of RESOURCES_DIR/prometheus loaded, and its HTTP API must give:
  - the exact number of requests the client sent, as sum(switchboard_requests_total);
  - a median request duration from the histogram in the range the worker's 20 ms allow;
  - the alert rules loaded and healthy;
  - every query of RESOURCES_DIR/grafana's dashboard accepted, each metric it names exported.
Exit 0: all good; 77: no prometheus/promtool here, said on stderr; else failure.
"""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

import zmq

SKIP = 77
SERVICE = b"echo"
REQUESTS = 120
WORK_S = 0.020
UNKNOWN_REQUESTS = 3
DEADLINE_S = 30


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http_get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def wait_for(what, predicate, deadline_s=DEADLINE_S):
    """Polls predicate() (which returns a value or None) until it gives a value."""
    deadline = time.monotonic() + deadline_s
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value is not None:
                return value
        except (OSError, ValueError, KeyError) as error:
            last_error = error
        time.sleep(0.1)  # polling an outside process's state, not synchronising threads
    fail(f"timed out waiting for {what}" + (f" (last error: {last_error})" if last_error else ""))


def start_broker(switchboard, work_dir):
    frontend, backend = free_port(), free_port()
    log = open(os.path.join(work_dir, "broker.log"), "w+")
    broker = subprocess.Popen(
        [switchboard, "--no-gui", "--no-admin",
         "--frontend", f"tcp://127.0.0.1:{frontend}", "--backend", f"tcp://127.0.0.1:{backend}",
         "--metrics", "127.0.0.1:0", "--snapshot-ms", "100", "--request-timeout-ms", "300"],
        stdout=log, stderr=subprocess.STDOUT, text=True)

    def metrics_address():
        if broker.poll() is not None:
            log.seek(0)
            fail(f"the broker exited with {broker.returncode}:\n{log.read()}")
        log.seek(0)
        found = re.search(r"^metrics (http://\S+)/metrics$", log.read(), re.MULTILINE)
        return found.group(1) if found else None

    base = wait_for("the broker's 'metrics' line", metrics_address)
    return broker, base, f"tcp://127.0.0.1:{frontend}", f"tcp://127.0.0.1:{backend}"


class EchoWorker:
    """A plain 7/MDP worker: READY, then each REQUEST answered after WORK_S."""

    def __init__(self, context, endpoint):
        self.socket = context.socket(zmq.DEALER)
        self.socket.linger = 0
        self.socket.connect(endpoint)
        self.socket.send_multipart([b"", b"MDPW01", b"\x01", SERVICE])
        self.last_heartbeat = time.monotonic()

    def serve_pending(self):
        while self.socket.poll(0):
            frames = self.socket.recv_multipart()
            if frames[2] == b"\x02":  # REQUEST: client address, empty, body
                time.sleep(WORK_S)  # the work itself
                self.socket.send_multipart([b"", b"MDPW01", b"\x03", frames[3], b""] + frames[5:])
            elif frames[2] == b"\x05":
                fail("the broker disconnected the echo worker")
        if time.monotonic() - self.last_heartbeat > 1.0:
            self.socket.send_multipart([b"", b"MDPW01", b"\x04"])
            self.last_heartbeat = time.monotonic()


def call(context, endpoint, worker, service, body):
    """One plain 7/MDP request; serves the worker while it waits. Returns the reply's frames."""
    client = context.socket(zmq.DEALER)
    client.linger = 0
    client.connect(endpoint)
    client.send_multipart([b"", b"MDPC01", service, body])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        worker.serve_pending()
        if client.poll(5):
            frames = client.recv_multipart()
            client.close()
            return frames
    fail(f"no answer to a request for {service!r}")


def check_metrics_text(base):
    status, content_type, body = http_get(base + "/metrics")
    if status != 200 or not content_type.startswith("text/plain"):
        fail(f"/metrics answered {status} {content_type!r}")
    checked = subprocess.run(["promtool", "check", "metrics"], input=body, capture_output=True)
    if checked.returncode != 0 or checked.stdout.strip() or checked.stderr.strip():
        fail("promtool check metrics refused the broker's /metrics:\n" +
             (checked.stdout + checked.stderr).decode(errors="replace"))
    return body.decode()


def start_prometheus(metrics_base, rules_file, work_dir):
    port = free_port()
    target = urllib.parse.urlparse(metrics_base).netloc
    config = os.path.join(work_dir, "prometheus.yml")
    with open(config, "w") as file:
        file.write(f"""global:
  scrape_interval: 200ms
  evaluation_interval: 1s
rule_files:
  - {rules_file}
scrape_configs:
  - job_name: switchboard
    static_configs:
      - targets: ['{target}']
""")
    checked = subprocess.run(["promtool", "check", "config", config], capture_output=True)
    if checked.returncode != 0:
        fail("promtool check config: " + (checked.stdout + checked.stderr).decode())
    log = open(os.path.join(work_dir, "prometheus.log"), "w")
    server = subprocess.Popen(
        ["prometheus", f"--config.file={config}", f"--storage.tsdb.path={work_dir}/data",
         f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT)
    api = f"http://127.0.0.1:{port}"
    wait_for("Prometheus to be ready",
             lambda: True if http_get(api + "/-/ready")[0] == 200 else None)
    return server, api


def query(api, promql):
    url = api + "/api/v1/query?" + urllib.parse.urlencode({"query": promql})
    try:
        _, _, body = http_get(url)
    except urllib.error.HTTPError as error:
        return json.loads(error.read())
    return json.loads(body)


def scalar(api, promql):
    answer = query(api, promql)
    if answer["status"] != "success":
        fail(f"{promql}: {answer}")
    result = answer["data"]["result"]
    return float(result[0]["value"][1]) if result else None


def metric_names(expression):
    return set(re.findall(r"\b((?:switchboard|process)_[a-z_]+)\b", expression))


def exported_families(text):
    return set(re.findall(r"^# TYPE (\S+) ", text, re.MULTILINE))


def family_of(name, families):
    for suffix in ("", "_bucket", "_sum", "_count"):
        if suffix and name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return name if name in families else None


def check_dashboard(api, dashboard_file, families):
    with open(dashboard_file) as file:
        dashboard = json.load(file)
    expressions = [target["expr"] for panel in dashboard["panels"]
                   for target in panel.get("targets", [])]
    if not expressions:
        fail("the dashboard has no queries")
    for expression in expressions:
        promql = (expression.replace("$__rate_interval", "1m")
                  .replace("$instance", ".*").replace("$service", ".*"))
        answer = query(api, promql)
        if answer.get("status") != "success":
            fail(f"Prometheus refused the dashboard's query {expression!r}: {answer}")
        for name in metric_names(expression):
            if family_of(name, families) is None:
                fail(f"the dashboard's query {expression!r} names {name}, which the broker "
                     "does not export")
    return len(expressions)


def check_rules(api, rules_file, families):
    answer = json.loads(http_get(api + "/api/v1/rules")[2])
    rules = [rule for group in answer["data"]["groups"] for rule in group["rules"]]
    if len(rules) < 4 or any(rule["health"] != "ok" for rule in rules):
        fail(f"the alert rules did not load healthy: {rules}")
    for rule in rules:
        for name in metric_names(rule["query"]):
            if family_of(name, families) is None:
                fail(f"alert {rule['name']} names {name}, which the broker does not export")
    return len(rules)


def main():
    if len(sys.argv) != 3:
        fail(__doc__)
    switchboard, resources = sys.argv[1], sys.argv[2]
    if not shutil.which("prometheus") or not shutil.which("promtool"):
        print("SKIP: prometheus and promtool are not installed (apt-get install prometheus)",
              file=sys.stderr)
        return SKIP
    rules_file = os.path.join(resources, "prometheus", "switchboard-alerts.yml")
    dashboard_file = os.path.join(resources, "grafana", "switchboard-dashboard.json")
    processes = []
    with tempfile.TemporaryDirectory(prefix="switchboard-prometheus-") as work_dir:
        try:
            broker, base, frontend, backend = start_broker(switchboard, work_dir)
            processes.append(broker)
            for path, expected in (("/livez", 200), ("/readyz", 200)):
                if http_get(base + path)[0] != expected:
                    fail(f"{path} did not answer {expected}")
            server, api = start_prometheus(base, rules_file, work_dir)
            processes.append(server)

            context = zmq.Context()
            worker = EchoWorker(context, backend)
            for index in range(REQUESTS):
                frames = call(context, frontend, worker, SERVICE, b"ping %d" % index)
                if frames[-1] != b"ping %d" % index:
                    fail(f"request {index} answered {frames}")
                if index % 40 == 0:
                    check_metrics_text(base)  # under load
            for index in range(UNKNOWN_REQUESTS):
                call(context, frontend, worker, b"nosuch", b"?")
            text = check_metrics_text(base)
            families = exported_families(text)

            sent = wait_for(
                f"Prometheus to count {REQUESTS} echo requests",
                lambda: (value if (value := scalar(
                    api, 'sum(switchboard_requests_total{job="switchboard", service="echo"})'))
                    == REQUESTS else None))
            unknown = wait_for(
                "Prometheus to count the requests for a service nobody serves",
                lambda: scalar(api, 'sum(switchboard_requests_total{service="nosuch"})'))
            if unknown != UNKNOWN_REQUESTS:
                fail(f"{unknown} requests for nosuch counted, {UNKNOWN_REQUESTS} sent")
            median = scalar(api, 'histogram_quantile(0.5, sum by (le) '
                                 '(switchboard_request_duration_seconds_bucket{service="echo"}))')
            if median is None or not WORK_S / 2 <= median <= 0.25:
                fail(f"median echo duration {median} s; the worker takes {WORK_S} s")
            rules = check_rules(api, rules_file, families)
            queries = check_dashboard(api, dashboard_file, families)
            print(f"prometheus counted {int(sent)} requests, median {median * 1000:.1f} ms; "
                  f"{rules} alert rules healthy; {queries} dashboard queries accepted")
            context.destroy(linger=0)
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
    return 0


if __name__ == "__main__":
    sys.exit(main())
