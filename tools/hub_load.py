"""A class on one machine: a real JupyterHub, K simulated students, each running two notebooks.

    .venv/bin/python tools/hub_load.py --students 8 --out bench/hub_load.json     (make hub-load)
    .venv/bin/python tools/hub_load.py --students 2                                (the test's short run)

What happens, all on 127.0.0.1 and bounded in time:

1. A JupyterHub (the ``jupyterhub`` package, ``configurable-http-proxy`` from npm in ``.hub/``)
   starts with the local-process spawner (``simple``: each student's server is a child process
   of the hub, its home a fresh folder with a copy of ``notebooks/``), the test authenticator
   (``dummy``, everyone allowed) and one service token with the admin scopes this script needs.
2. For each student, through the hub's REST API: create the user, start the server, wait until
   it answers; then open a kernel session on ``00_start_here.ipynb`` and on one heavier notebook
   (default ``06``) and run every code cell through the kernel's websocket, exactly as a browser
   would (``execute_request`` on the shell channel, outputs on iopub). Students run side by side.
3. A sampler reads the resident memory of every process every 0.25 s: per student (the
   server and its kernels: a student's first notebook stays open while the second runs, as
   in a browser) and the whole hub (hub, proxy and every student).

It records per student the time to finish and the peak memory, and for the hub the total peak,
prints them and writes them as JSON (``--out``). It exits non-zero if any cell failed, any
student did not finish, or the run passed ``--timeout``; the hub and every server it started are
stopped in all cases.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PROXY = ROOT / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def hub_config(work: Path, port: int, hub_port: int, api_port: int, token: str) -> str:
    allow_root = os.geteuid() == 0
    return f"""
c = get_config()  # noqa: F821
c.JupyterHub.ip = "127.0.0.1"
c.JupyterHub.port = {port}
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = {hub_port}
c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
c.ConfigurableHTTPProxy.command = [{str(PROXY)!r}]
c.JupyterHub.db_url = "sqlite:///{work / 'hub.sqlite'}"
c.JupyterHub.cookie_secret_file = {str(work / 'cookie_secret')!r}
c.JupyterHub.pid_file = {str(work / 'hub.pid')!r}
c.JupyterHub.spawner_class = "simple"
c.JupyterHub.authenticator_class = "dummy"
c.Authenticator.allow_all = True
c.SimpleLocalProcessSpawner.home_dir_template = {str(work / 'home' / '{username}')!r}
c.Spawner.cmd = [{str(VENV_BIN / 'jupyterhub-singleuser')!r}]
c.Spawner.args = {['--allow-root'] if allow_root else []!r}
c.Spawner.default_url = "/lab/tree/notebooks/00_start_here.ipynb"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120
c.Spawner.environment = {{"COURSE_JAX_CACHE": {str(work / 'jax_cache')!r}, "MPLBACKEND": "Agg"}}
c.JupyterHub.load_roles = [
    {{"name": "load-test", "scopes": ["admin:users", "admin:servers", "access:servers", "read:users"],
      "services": ["load-test"]}},
]
c.JupyterHub.services = [{{"name": "load-test", "api_token": {token!r}}}]
c.JupyterHub.cleanup_servers = True
"""


class Hub:
    """The hub process and a tiny REST client with the service token."""

    def __init__(self, work: Path, token: str):
        self.work, self.token = work, token
        self.port, hub_port, api_port = free_port(), free_port(), free_port()
        config = work / "jupyterhub_config.py"
        config.write_text(hub_config(work, self.port, hub_port, api_port, token))
        self.log = open(work / "hub.log", "w")
        env = dict(os.environ, PATH=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
        self.process = subprocess.Popen(
            [str(VENV_BIN / "jupyterhub"), "-f", str(config)],
            cwd=work, stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def request(self, method: str, path: str, body=None, timeout: float = 30.0):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method,
                                     headers={"Authorization": f"token {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=timeout) as response:
            text = response.read().decode()
            return response.status, (json.loads(text) if text.strip() else None)

    def wait_ready(self, deadline: float) -> None:
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyterhub exited early:\n{(self.work / 'hub.log').read_text()[-3000:]}")
            try:
                self.request("GET", "/hub/api/", timeout=5)
                return
            except (OSError, urllib.error.URLError):
                time.sleep(0.5)
        raise TimeoutError("the hub did not answer in time")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


class MemorySampler(threading.Thread):
    """Peak resident memory of the hub's process tree and of each student's server tree."""

    def __init__(self, hub_pid: int, interval: float = 0.25):
        super().__init__(daemon=True)
        self.hub_pid, self.interval = hub_pid, interval
        self.stop_event = threading.Event()
        self.hub_peak_mb = 0.0
        self.student_peak_mb: dict[str, float] = {}

    def _sample(self) -> None:
        try:
            hub = psutil.Process(self.hub_pid)
            tree = [hub] + hub.children(recursive=True)
        except psutil.Error:
            return
        total, per_student = 0.0, {}
        for proc in tree:
            try:
                rss = proc.memory_info().rss / 2**20
                user = proc.environ().get("JUPYTERHUB_USER") if proc.pid != self.hub_pid else None
            except psutil.Error:
                continue
            total += rss
            if user:
                per_student[user] = per_student.get(user, 0.0) + rss
        self.hub_peak_mb = max(self.hub_peak_mb, total)
        for user, mb in per_student.items():
            self.student_peak_mb[user] = max(self.student_peak_mb.get(user, 0.0), mb)

    def run(self) -> None:
        while not self.stop_event.is_set():
            self._sample()
            self.stop_event.wait(self.interval)


def code_cells(path: Path) -> list[str]:
    notebook = json.loads(path.read_text())
    return ["".join(c["source"]) for c in notebook["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def message(session: str, code: str) -> dict:
    return {
        "header": {"msg_id": uuid.uuid4().hex, "username": "student", "session": session, "msg_type": "execute_request",
                   "version": "5.3", "date": datetime.datetime.now(datetime.timezone.utc).isoformat()},
        "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
        "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }


async def run_notebook(hub: Hub, user: str, notebook: str, cell_timeout: float) -> dict:
    """Open a kernel session on ``notebook`` in the student's server and run its code cells."""
    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    start = time.perf_counter()
    path = f"notebooks/{notebook}"
    body = {"path": path, "name": notebook, "type": "notebook", "kernel": {"name": "python3"}}
    status, session = await asyncio.to_thread(hub.request, "POST", f"/user/{user}/api/sessions", body, 60.0)
    kernel = session["kernel"]["id"]
    url = f"ws://127.0.0.1:{hub.port}/user/{user}/api/kernels/{kernel}/channels"
    connection = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {hub.token}"}),
                                         max_message_size=256 * 2**20)
    errors, cells = [], code_cells(ROOT / "notebooks" / notebook)
    session_id = uuid.uuid4().hex
    try:
        for index, code in enumerate(cells):
            request = message(session_id, code)
            await connection.write_message(json.dumps(request))
            msg_id, idle, reply = request["header"]["msg_id"], False, None
            deadline = time.perf_counter() + cell_timeout
            while not (idle and reply):
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    raise TimeoutError(f"{notebook} cell {index} ran past {cell_timeout:.0f} s")
                raw = await asyncio.wait_for(connection.read_message(), remaining)
                if raw is None:
                    raise ConnectionError(f"{notebook}: the kernel's websocket closed")
                if isinstance(raw, bytes):
                    continue  # binary buffers (widget state): nothing to check
                msg = json.loads(raw)
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind = msg["header"]["msg_type"]
                if kind == "error":
                    errors.append(f"cell {index}: {msg['content']['ename']}: {msg['content']['evalue']}")
                elif kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
                elif kind == "execute_reply":
                    reply = msg["content"]["status"]
            if reply != "ok":
                errors.append(f"cell {index}: execute_reply {reply}")
                break
    finally:
        connection.close()
    # The kernel stays alive (as when a student leaves a notebook open) until the student is done,
    # so the student's peak memory is the server plus both notebooks' kernels.
    return {"notebook": notebook, "cells": len(cells), "errors": errors, "seconds": time.perf_counter() - start,
            "session": session["id"]}


async def one_student(hub: Hub, user: str, notebooks: list[str], cell_timeout: float) -> dict:
    start = time.perf_counter()
    home = hub.work / "home" / user
    home.mkdir(parents=True, exist_ok=True)
    shutil.copytree(ROOT / "notebooks", home / "notebooks", dirs_exist_ok=True)
    await asyncio.to_thread(hub.request, "POST", f"/hub/api/users/{user}")
    await asyncio.to_thread(hub.request, "POST", f"/hub/api/users/{user}/server", None, 120.0)
    deadline = time.perf_counter() + 120
    while time.perf_counter() < deadline:
        _, model = await asyncio.to_thread(hub.request, "GET", f"/hub/api/users/{user}")
        if (model.get("servers", {}).get("") or {}).get("ready"):
            break
        await asyncio.sleep(0.5)
    else:
        raise TimeoutError(f"{user}'s server did not become ready")
    spawned = time.perf_counter() - start
    runs = [await run_notebook(hub, user, nb, cell_timeout) for nb in notebooks]
    for run in runs:
        await asyncio.to_thread(hub.request, "DELETE", f"/user/{user}/api/sessions/{run.pop('session')}")
    return {"student": user, "spawn_s": spawned, "runs": runs, "seconds": time.perf_counter() - start,
            "ok": all(not r["errors"] for r in runs)}


async def class_run(hub: Hub, students: int, notebooks: list[str], cell_timeout: float) -> list:
    tasks = [one_student(hub, f"student{i + 1}", notebooks, cell_timeout) for i in range(students)]
    results = await asyncio.gather(*tasks, return_exceptions=True)
    return [r if isinstance(r, dict) else {"student": f"student{i + 1}", "ok": False, "error": repr(r)}
            for i, r in enumerate(results)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=8)
    parser.add_argument("--notebooks", nargs="+", default=["00_start_here.ipynb", "06_limitations.ipynb"])
    parser.add_argument("--timeout", type=float, default=1500.0, help="the whole run stops after this many seconds")
    parser.add_argument("--cell-timeout", type=float, default=600.0)
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error("--students must be at least 1")
    if not PROXY.exists():
        print(f"configurable-http-proxy is missing at {PROXY}: run `make hub-load` (it installs it with npm)", file=sys.stderr)
        return 2
    for nb in args.notebooks:
        if not (ROOT / "notebooks" / nb).exists():
            parser.error(f"no notebook notebooks/{nb}")

    work = Path(tempfile.mkdtemp(prefix="ntk-hub-"))
    token = secrets.token_hex(16)
    hub = Hub(work, token)
    sampler = None
    started = time.perf_counter()
    result = {"students_count": args.students, "students": [], "notebooks": args.notebooks, "machine_cores": os.cpu_count()}
    try:
        hub.wait_ready(time.time() + 90)
        sampler = MemorySampler(hub.process.pid)
        sampler.start()
        students = asyncio.run(asyncio.wait_for(class_run(hub, args.students, args.notebooks, args.cell_timeout),
                                                args.timeout))
        for s in students:
            s["peak_mb"] = round(sampler.student_peak_mb.get(s["student"], float("nan")), 1)
        result.update(students=students, ok=all(s["ok"] for s in students))
    except (Exception, asyncio.TimeoutError) as err:  # report whatever went wrong, then clean up
        result.update(ok=False, error=repr(err))
    finally:
        if sampler is not None:
            sampler.stop_event.set()
            sampler.join(timeout=2)
            result["hub_peak_mb"] = round(sampler.hub_peak_mb, 1)
        hub.stop()
        result["wall_s"] = round(time.perf_counter() - started, 1)
        log_tail = (work / "hub.log").read_text()[-4000:] if (work / "hub.log").exists() else ""
        shutil.rmtree(work, ignore_errors=True)

    for s in result["students"]:
        runs = ", ".join(f"{r['notebook']} {r['seconds']:.0f} s{' ERRORS ' + str(r['errors']) if r['errors'] else ''}"
                         for r in s.get("runs", []))
        print(f"{s['student']}: {'ok' if s['ok'] else 'FAILED'}; spawn {s.get('spawn_s', float('nan')):.1f} s; "
              f"finished in {s.get('seconds', float('nan')):.0f} s; peak {s.get('peak_mb', float('nan')):.0f} MB; {runs}"
              + (f"; {s['error']}" if "error" in s else ""))
    print(f"hub total peak {result.get('hub_peak_mb', float('nan')):.0f} MB; wall {result['wall_s']:.0f} s; "
          f"{'OK' if result['ok'] else 'FAILED: ' + result.get('error', 'a student failed')}")
    if not result["ok"] and log_tail:
        print("--- end of hub.log ---\n" + log_tail, file=sys.stderr)
    if args.out:
        args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
