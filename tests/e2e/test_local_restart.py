"""`steward local up` restarts on its port at once after a crash (kill -9 leaves TIME_WAIT sockets)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

from stewardtools.localcloud.deploy import free_port, port_is_free

HOST = "127.0.0.1"

# A child that listens on the port the way the local cloud's server does, accepts one connection
# and then waits to be killed.
CHILD = """
import socket, sys, time
server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(8)
print("listening", flush=True)
conn, _ = server.accept()
print("accepted", flush=True)
time.sleep(600)
"""


def _crash_a_server_holding(port: int) -> None:
    """Start the child, connect to it, kill -9 it, then close our end: the child's side of the
    connection is left in TIME_WAIT on ``port``."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(port)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "listening"
        client = socket.create_connection((HOST, port), timeout=10)
        assert child.stdout.readline().strip() == "accepted"
        assert not port_is_free(HOST, port), "a port something listens on is not free"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=10)
        time.sleep(0.2)  # the kernel sends the child's FIN
        client.close()  # our FIN: the child's side goes to TIME_WAIT
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()


def _time_wait_on(port: int) -> bool:
    """A plain bind (no SO_REUSEADDR) fails while a TIME_WAIT socket holds the port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as plain:
        try:
            plain.bind((HOST, port))
        except OSError:
            return True
    return False


def test_the_port_is_free_at_once_after_kill_9_and_the_server_rebinds_it() -> None:
    port = free_port(HOST)
    _crash_a_server_holding(port)
    assert _time_wait_on(port), "the scenario must leave a TIME_WAIT socket on the port"
    started = time.monotonic()
    assert port_is_free(HOST, port)  # what `steward local up` checks before it starts
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=HOST, port=port, verbose=False)  # the local cloud's server
    server.start()
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/moto-api/data.json", timeout=10) as reply:
            assert reply.status == 200
    finally:
        server.stop()
    assert time.monotonic() - started < 10


def test_the_banner_says_what_a_restart_loses() -> None:
    import argparse
    from pathlib import Path

    from stewardtools.cli import local

    class Cloud:
        endpoint_url = f"http://{HOST}:5000"
        outputs = {"DataBucketName": "data"}
        state_dir = Path("/tmp/state")
        region = "us-east-1"
        stack_name = "model-steward-local"

    said: list[str] = []
    original = local._say
    local._say = said.append  # type: ignore[assignment]
    try:
        local._print_banner(Cloud(), argparse.Namespace(models="m", alarm_interval=5.0, no_schedules=False))
    finally:
        local._say = original  # type: ignore[assignment]
    banner = "\n".join(said)
    assert "State is in memory" in banner and "restart on the same port works at once" in banner
