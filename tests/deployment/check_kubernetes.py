"""Checks resources/kubernetes/ the way a cluster would use it, without a cluster.

Reads the manifests, checks that they hang together (selectors, headless Service, ports), then
runs in a private network and mount namespace (so the fixed ports and /etc/hosts are its own):
  - the broker container's exact command line;
  - its readiness and liveness probes, HTTP GETs as the kubelet makes them: they must pass
    while the broker runs;
  - the worker container's exact command, its broker name resolving to the broker through
    /etc/hosts as the headless Service's would: the broker must see the worker;
  - the readiness probe again after the broker is killed: it must fail.

  /usr/bin/python3 check_kubernetes.py MANIFEST_DIR SWITCHBOARD CALCULATOR_WORKER
Exit 0: all good; 77: cannot make namespaces here (not root), said on stderr; else failure.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

import yaml

SKIP = 77
INSIDE = "SWITCHBOARD_CHECK_KUBERNETES_INSIDE"
DEADLINE_S = 20


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def load(manifest_dir):
    documents = {}
    for name in ("switchboard-broker.yaml", "calculator-worker.yaml"):
        with open(os.path.join(manifest_dir, name)) as file:
            for document in yaml.safe_load_all(file):
                documents[(document["kind"], document["metadata"]["name"])] = document
    return documents


def check_structure(documents):
    broker = documents[("Deployment", "switchboard-broker")]
    service = documents[("Service", "switchboard-broker")]
    worker = documents[("Deployment", "calculator-worker")]
    budget = documents[("PodDisruptionBudget", "switchboard-broker")]
    labels = broker["spec"]["template"]["metadata"]["labels"]
    for selector in (broker["spec"]["selector"]["matchLabels"], service["spec"]["selector"],
                     budget["spec"]["selector"]["matchLabels"]):
        if any(labels.get(key) != value for key, value in selector.items()):
            fail(f"selector {selector} does not match the broker pods' labels {labels}")
    if service["spec"].get("clusterIP") != "None":
        fail("the broker Service must be headless (clusterIP: None): its name must resolve to "
             "every broker")
    if broker["spec"]["replicas"] < 2:
        fail("one broker replica is no failover")
    container = broker["spec"]["template"]["spec"]["containers"][0]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    for port in service["spec"]["ports"]:
        if ports.get(port["name"]) != port["port"]:
            fail(f"Service port {port} is not a container port of the broker ({ports})")
    args = container["args"]
    for option, port in (("--frontend", ports["clients"]), ("--backend", ports["workers"])):
        if not any(arg == f"{option}=tcp://0.0.0.0:{port}" for arg in args):
            fail(f"the broker does not listen with {option} on port {port}: {args}")
    worker_command = worker["spec"]["template"]["spec"]["containers"][0]["command"]
    if f"tcp://switchboard-broker:{ports['workers']}" not in worker_command:
        fail(f"the worker is not given the Service's name and worker port: {worker_command}")
    for probe in ("readinessProbe", "livenessProbe"):
        port = container[probe]["httpGet"]["port"]
        if port not in ports:
            fail(f"the {probe} asks port {port}, which the broker does not name: {ports}")
        if not any(arg == f"--metrics=0.0.0.0:{ports[port]}" for arg in args):
            fail(f"the {probe}'s port {port} is not the broker's --metrics listener: {args}")
    return container, worker_command


def http_probe(container, name):
    """The kubelet's httpGet probe: passes on a status from 200 to 399, fails on anything else,
    a refused connection included. Returns (passed, what was seen)."""
    probe = container[name]["httpGet"]
    ports = {port["name"]: port["containerPort"] for port in container["ports"]}
    url = f"http://127.0.0.1:{ports[probe['port']]}{probe['path']}"
    try:
        with urllib.request.urlopen(url, timeout=container[name].get("timeoutSeconds", 1)) as reply:
            return 200 <= reply.status < 400, f"{url}: {reply.status}"
    except urllib.error.HTTPError as error:
        return False, f"{url}: {error.code} {error.read().decode(errors='replace').strip()}"
    except OSError as error:
        return False, f"{url}: {error}"


def wait_for(predicate, what):
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)  # polling an outside process's state; nothing to wait on instead
    fail(f"{what} within {DEADLINE_S} s")


def inside(manifest_dir):
    documents = load(manifest_dir)
    broker_container, worker_command = check_structure(documents)
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    hosts = tempfile.NamedTemporaryFile("w", suffix=".hosts", delete=False)
    hosts.write("127.0.0.1 localhost\n127.0.0.1 switchboard-broker\n")
    hosts.close()
    subprocess.run(["mount", "--bind", hosts.name, "/etc/hosts"], check=True)

    broker = subprocess.Popen(["switchboard"] + broker_container["args"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    worker = None
    try:
        for name in ("readinessProbe", "livenessProbe"):
            wait_for(lambda: http_probe(broker_container, name)[0],
                     f"the {name} did not pass with the broker up")
            print(f"{name} passes with the broker up:", http_probe(broker_container, name)[1])

        worker = subprocess.Popen(worker_command, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE, text=True)

        def sees_worker():
            result = subprocess.run(["switchboard", "services", "--json", "--broker",
                                     "tcp://127.0.0.1:5555"], capture_output=True, text=True)
            return result.returncode == 0 and '"calc"' in result.stdout
        wait_for(sees_worker, "the broker did not see the worker started as its manifest says")
        print("the broker sees the worker started with:", " ".join(worker_command))
    finally:
        if worker:
            worker.terminate()
            worker.wait(10)
        broker.kill()
        broker.wait(10)
    passed, seen = http_probe(broker_container, "readinessProbe")
    if passed:
        fail("the readiness probe passes with the broker gone")
    print(f"readiness probe fails with the broker gone ({seen})")


def main():
    manifest_dir, switchboard, worker = sys.argv[1:4]
    os.environ["PATH"] = os.pathsep.join(
        [os.path.dirname(switchboard), os.path.dirname(worker), os.environ.get("PATH", "")])
    if os.environ.get(INSIDE):
        inside(manifest_dir)
        return
    check_structure(load(manifest_dir))
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        print("SKIP: running the manifests' commands needs root, unshare and ip (iproute2) for a "
              "private network namespace", file=sys.stderr)
        sys.exit(SKIP)
    environment = dict(os.environ, **{INSIDE: "1"})
    result = subprocess.run(["unshare", "--net", "--mount", sys.executable] + sys.argv,
                            env=environment)
    sys.exit(result.returncode)


if __name__ == "__main__":
    main()
