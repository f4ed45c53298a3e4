"""The production topology on one machine's loopback: nginx in front of N gunicorn web nodes and M
delivery workers on one PostgreSQL database (``bin/cluster``).

    bin/cluster start --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bizportal_cluster
    bin/cluster status
    bin/cluster stop

It runs the migrations first, then the workers, then the web nodes, then nginx (the order of a
rolling upgrade), waits until nginx and every node answer ``/readyz``, and writes what it started
to ``<dir>/cluster.json`` (ports, process ids, log files). Settings for the portal processes come
from the environment (``BIZPORTAL_*``) and ``--env KEY=VALUE``; the nodes share one secret key and
one upload folder under ``<dir>`` unless the environment says otherwise (e.g. an S3 store).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


NGINX_CONF = """\
{user}
worker_processes 2;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/nginx-tmp/body;
    proxy_temp_path {dir}/nginx-tmp/proxy;
    fastcgi_temp_path {dir}/nginx-tmp/fastcgi;
    uwsgi_temp_path {dir}/nginx-tmp/uwsgi;
    scgi_temp_path {dir}/nginx-tmp/scgi;
    upstream bizportal_web {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 64m;
        client_body_buffer_size 1m;
        proxy_request_buffering on;
        proxy_buffering on;
        location / {{
            proxy_pass http://bizportal_web;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $http_host;
            proxy_next_upstream error timeout http_502 http_503;
        }}
    }}
}}
"""


def _spawn(name: str, argv: list[str], env: dict[str, str], logs: Path) -> dict:
    log = logs / f"{name}.log"
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)  # outlives this command; stopped by "stop"
    return {"name": name, "pid": proc.pid, "log": str(log)}


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _alive(pid: int) -> bool:
    """Running: it exists and is not a zombie (a killed process nobody has reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc: trust the signal
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def start(args: argparse.Namespace) -> dict:
    state_dir = Path(args.dir).resolve()
    if (state_dir / "cluster.json").exists():
        old = json.loads((state_dir / "cluster.json").read_text())
        if any(_alive(p["pid"]) for p in old["processes"]):
            raise SystemExit(f"cluster: already running (see {state_dir / 'cluster.json'}); stop it first")
    (state_dir / "logs").mkdir(parents=True, exist_ok=True)
    (state_dir / "nginx-tmp").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items()}
    env.update({
        "BIZPORTAL_DATABASE_URL": args.database_url,
        "BIZPORTAL_PROXY_FIX_HOPS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    env.setdefault("BIZPORTAL_SECRET_KEY", secrets.token_urlsafe(32))
    env.setdefault("BIZPORTAL_UPLOAD_DIR", str(state_dir / "uploads"))
    env.setdefault("BIZPORTAL_MAIL_FOLDER", str(state_dir / "mail"))
    logs = state_dir / "logs"
    processes: list[dict] = []
    if args.demo:  # the development login provider with the demo users, as `flask dev` has it
        provider_port = free_port()
        processes.append(_spawn("provider", [str(VENV_BIN / "python"), "-m", "bizportal.devprovider", "--port",
                                             str(provider_port)], env, logs) | {"port": provider_port})
        issuer = f"http://127.0.0.1:{provider_port}"
        env.update({"BIZPORTAL_COMPANY_OIDC_ISSUER": issuer, "BIZPORTAL_STAFF_OIDC_ISSUER": issuer,
                    "AUTHLIB_INSECURE_TRANSPORT": "1"})
    for pair in args.env:
        key, _, value = pair.partition("=")
        env[key if key.startswith("BIZPORTAL_") else "BIZPORTAL_" + key] = value

    # 1. migrations, 2. workers, 3. web nodes, 4. the proxy
    upgrade = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    if upgrade.returncode != 0:
        stop_processes(processes)
        raise SystemExit("cluster: migrations failed:\n" + upgrade.stderr[-3000:])
    if args.demo:
        demo = subprocess.run([str(VENV_BIN / "flask"), "--app", "wsgi", "demo-data"], cwd=ROOT, env=env,
                              capture_output=True, text=True)
        if demo.returncode != 0:
            stop_processes(processes)
            raise SystemExit("cluster: demo data failed:\n" + demo.stderr[-3000:])
    processes += [_spawn(f"worker{i + 1}", [str(VENV_BIN / "flask"), "--app", "wsgi", "worker"], env, logs)
                 for i in range(args.workers)]
    web_ports = [free_port() for _ in range(args.web)]
    for i, port in enumerate(web_ports):
        processes.append(_spawn(f"web{i + 1}", [
            str(VENV_BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.web_processes), "wsgi:app"], env, logs) | {"port": port})
    deadline = time.monotonic() + args.timeout
    # The proxy starts only when every node answers: nginx counts the refused connections of nodes
    # still booting as failures (max_fails) and would then send nothing to them for fail_timeout.
    _wait([f"http://127.0.0.1:{p}/readyz" for p in web_ports], processes, deadline, args, logs)
    proxy_port = args.port or free_port()
    conf = state_dir / "nginx.conf"
    conf.write_text(NGINX_CONF.format(
        user="user root root;" if os.geteuid() == 0 else "", dir=state_dir, port=proxy_port,
        servers="\n".join(f"        server 127.0.0.1:{p} max_fails=3 fail_timeout=10s;" for p in web_ports)))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    processes.append(_spawn("nginx", [nginx, "-p", str(state_dir), "-c", str(conf), "-g", "daemon off;"], env, logs)
                     | {"port": proxy_port})
    state = {"url": f"http://127.0.0.1:{proxy_port}", "database_url": args.database_url,
             "nodes": [f"http://127.0.0.1:{p}" for p in web_ports], "processes": processes,
             "upload_dir": env["BIZPORTAL_UPLOAD_DIR"]}
    (state_dir / "cluster.json").write_text(json.dumps(state, indent=2))
    _wait([state["url"] + "/readyz"], processes, deadline, args, logs)
    return state


def _wait(urls: list[str], processes: list[dict], deadline: float, args: argparse.Namespace, logs: Path) -> None:
    """Until every URL answers 200; stops what was started when a process exits or time runs out."""
    while not all(_ready(u) for u in urls):
        dead = [p["name"] for p in processes if not _alive(p["pid"])]
        if dead or time.monotonic() > deadline:
            stop_processes(processes)
            (Path(args.dir).resolve() / "cluster.json").unlink(missing_ok=True)
            why = f"{', '.join(dead)} exited" if dead else f"not ready after {args.timeout} s"
            raise SystemExit(f"cluster: {why}; logs in {logs}")
        time.sleep(0.3)


def stop(args: argparse.Namespace) -> None:
    state_file = Path(args.dir).resolve() / "cluster.json"
    if not state_file.exists():
        return
    stop_processes(json.loads(state_file.read_text())["processes"])
    state_file.unlink()


def stop_processes(processes: list[dict]) -> None:
    for proc in reversed(processes):  # the proxy first, the workers last (they finish their sends)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc["pid"], signal.SIGTERM)
    deadline = time.monotonic() + 40
    while any(_alive(p["pid"]) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    for proc in processes:
        if _alive(proc["pid"]):
            os.killpg(proc["pid"], signal.SIGKILL)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bin/cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--dir", default=str(ROOT / "instance" / "cluster"), help="state, logs, uploads")
    parser.add_argument("--database-url", default=os.environ.get("BIZPORTAL_DATABASE_URL", ""))
    parser.add_argument("--web", type=int, default=2, help="web nodes (gunicorn masters)")
    parser.add_argument("--web-processes", type=int, default=2, help="gunicorn workers per node")
    parser.add_argument("--workers", type=int, default=2, help="delivery workers")
    parser.add_argument("--port", type=int, default=0, help="nginx port (default: a free one)")
    parser.add_argument("--timeout", type=float, default=90)
    parser.add_argument("--demo", action="store_true",
                        help="also start the development login provider and load the demo chambers")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                        help="a BIZPORTAL_ setting for every portal process (repeatable)")
    args = parser.parse_args(argv)
    if args.command == "start":
        if not args.database_url.startswith("postgresql"):
            raise SystemExit("cluster: --database-url must be a PostgreSQL URL (several workers need it)")
        print(json.dumps(start(args), indent=2))
    elif args.command == "stop":
        stop(args)
    else:
        state_file = Path(args.dir).resolve() / "cluster.json"
        if not state_file.exists():
            print("not running")
            return
        state = json.loads(state_file.read_text())
        down = 0
        for proc in state["processes"]:
            up = _alive(proc["pid"])
            down += not up
            print(f"{proc['name']:8} pid {proc['pid']:>7} {'up' if up else 'DOWN'}"
                  f"{'  port ' + str(proc['port']) if 'port' in proc else ''}")
        if down:
            raise SystemExit(f"cluster: {down} process(es) down")


if __name__ == "__main__":
    main()
