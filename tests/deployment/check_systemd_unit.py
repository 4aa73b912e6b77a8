"""Checks resources/switchboard.service the way systemd would load it, without installing it.

  /usr/bin/python3 check_systemd_unit.py UNIT SWITCHBOARD

Copies the unit into a temporary directory with ExecStart= pointing at the built executable
(the packaged one, /usr/bin/switchboard, is not installed here) and runs `systemd-analyze verify`
on it: any complaint about the unit fails, including the ones systemd only warns about and then
ignores (a misspelt key, an unknown Type=), since those silently drop a setting. Then
`systemd-analyze security --offline` must rate its exposure at most MAX_EXPOSURE, so that
dropping a hardening setting fails here and not in a security review. Last, ExecStart='s
command line runs with --print-config, the shipped resources/switchboard.conf in place of
/etc/switchboard/switchboard.conf: the executable must accept every option the unit gives it.
Exit 0: all good; 77: systemd-analyze is not installed, said on stderr; else failure.
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
INSTALLED_BINARY = "/usr/bin/switchboard"
INSTALLED_CONFIG = "/etc/switchboard/switchboard.conf"
# systemd-analyze's scale is 0.0 (locked down) to 10.0; the unit scores 1.2 (docs/DEPLOYMENT.md).
MAX_EXPOSURE = 2.0
# The settings this project's operation relies on (docs/DEPLOYMENT.md, "systemd").
REQUIRED = ["Type=notify", "NotifyAccess=main", "WatchdogSec=", "RestartPreventExitStatus=2",
            "KillSignal=SIGTERM", "DynamicUser=yes", "RuntimeDirectory=switchboard",
            "ConfigurationDirectory=switchboard"]


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def localised_unit(unit_path, switchboard, directory):
    with open(unit_path) as file:
        text = file.read()
    exec_start = re.search(r"^ExecStart=(\S+)", text, re.MULTILINE)
    if not exec_start or exec_start.group(1) != INSTALLED_BINARY:
        fail(f"ExecStart= must run {INSTALLED_BINARY}, where the Debian package installs it; "
             f"found {exec_start.group(0) if exec_start else 'no ExecStart='}")
    for setting in REQUIRED:
        if not re.search("^" + re.escape(setting), text, re.MULTILINE):
            fail(f"the unit lacks {setting}")
    path = os.path.join(directory, os.path.basename(unit_path))
    with open(path, "w") as file:
        file.write(text.replace("ExecStart=" + INSTALLED_BINARY, "ExecStart=" + switchboard, 1))
    return path


def verify(unit):
    # verify prints nothing for a sound unit; other units it loads (multi-user.target, ...) are
    # not ours to judge, so only lines naming this one count.
    result = subprocess.run(["systemd-analyze", "verify", "--man=no", unit],
                            capture_output=True, text=True)
    name = os.path.basename(unit)
    complaints = [line for line in (result.stdout + result.stderr).splitlines() if name in line]
    if result.returncode != 0 or complaints:
        fail("systemd-analyze verify rejects the unit (exit {}):\n{}".format(
            result.returncode, "\n".join(complaints) or result.stderr))
    print("systemd-analyze verify: no complaint")


def exposure(unit):
    result = subprocess.run(["systemd-analyze", "security", "--offline=true", "--no-pager", unit],
                            capture_output=True, text=True)
    match = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    if not match:
        fail("systemd-analyze security gave no exposure level:\n" + result.stdout + result.stderr)
    level = float(match.group(1))
    if level > MAX_EXPOSURE:
        lines = [line for line in result.stdout.splitlines() if line.startswith("✗")]
        fail(f"exposure {level} is above {MAX_EXPOSURE}; settings it misses:\n" + "\n".join(lines))
    print(f"systemd-analyze security: exposure {level} (at most {MAX_EXPOSURE})")


def exec_start_accepted(unit_path, switchboard):
    shipped = os.path.join(os.path.dirname(os.path.abspath(unit_path)), "switchboard.conf")
    if not os.path.exists(shipped):
        print(f"ExecStart= not run: no {shipped} to stand in for {INSTALLED_CONFIG}")
        return
    with open(unit_path) as file:
        line = re.search(r"^ExecStart=(.*)$", file.read(), re.MULTILINE).group(1)
    command = [switchboard] + [shipped if arg == INSTALLED_CONFIG else arg
                               for arg in shlex.split(line)[1:]] + ["--print-config"]
    # The unit's environment has no SWITCHBOARD_* variable; the test's must not add one.
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("SWITCHBOARD_")}
    result = subprocess.run(command, capture_output=True, text=True, timeout=30,
                            env=environment)
    if result.returncode != 0:
        fail(f"ExecStart='s command line is refused (exit {result.returncode}): "
             f"{' '.join(command)}\n{result.stderr}")
    print("ExecStart= accepted by the executable:", " ".join(command))


def main():
    unit_path, switchboard = sys.argv[1:3]
    if not shutil.which("systemd-analyze"):
        print("SKIP: systemd-analyze is not installed (Debian package systemd)", file=sys.stderr)
        sys.exit(SKIP)
    with tempfile.TemporaryDirectory() as directory:
        unit = localised_unit(unit_path, os.path.abspath(switchboard), directory)
        verify(unit)
        exposure(unit)
    exec_start_accepted(unit_path, os.path.abspath(switchboard))


if __name__ == "__main__":
    main()
