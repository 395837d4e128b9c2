#!/usr/bin/python3
"""Memory per idle client connection of storkd (issue 5 §7: <= 16 KiB per idle TLS
connection, measured with 10k idle connections), and optionally of nginx for reference.

For each scenario a fresh server is started (so one scenario's freed-but-kept heap does
not hide in the next one's baseline), warmed up with a few connections of the same kind,
and its memory is read from /proc/PID/smaps_rollup:

  before   warmed up, no client connection open
  idle     N connections open and idle (TLS: handshake complete, TLS 1.3, SNI set)
  request  the same N connections after one keep-alive request each (a Host no rule
           covers: 404, the connection stays open), idle again

KiB per connection = (state - before) / N, for Rss, Pss, Anonymous and Private_Dirty.

Scenarios: tls (https listener), plain (http listener, the baseline). Clients: several
processes (--clients), each non-blocking sockets + ssl + selectors, at most --window
connections in flight (handshaking or waiting for their response) per process.

Usage: /usr/bin/python3 bench/idle-memory/measure.py [--storkd build-mem/bin/storkd]
       [-n 10000] [--nginx] [--json out.json]
Only the Python standard library and the openssl command line are used.
"""

import argparse
import json
import multiprocessing as mp
import os
import re
import resource
import selectors
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time

SNI = "bench.stork.test"          # covered by the certificate
REQUEST_HOST = "unknown.stork.test"  # no rule: storkd answers 404 and keeps the connection
FIELDS = ("Rss", "Pss", "Anonymous", "Private_Dirty")


# ---------------------------------------------------------------- certificates, config

def run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def make_certificates(d):
    """A throwaway CA and an ECDSA P-256 leaf for SNI, signed by it; returns (ca, crt, key)."""
    certs = os.path.join(d, "certs")
    os.mkdir(certs)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "ca.key", "-out", "ca.crt", "-days", "2", "-subj", "/CN=idle-memory bench CA",
         "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"], d)
    run(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "certs/bench.key", "-out", "bench.csr", "-subj", "/CN=" + SNI], d)
    with open(os.path.join(d, "leaf.ext"), "w") as f:
        f.write("subjectAltName=DNS:%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\n" % SNI)
    run(["openssl", "x509", "-req", "-in", "bench.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
         "-CAcreateserial", "-days", "2", "-extfile", "leaf.ext", "-out", "certs/bench.crt"], d)
    return os.path.join(d, "ca.crt"), os.path.join(certs, "bench.crt"), os.path.join(certs, "bench.key")


def storkd_config(d, n):
    with open(os.path.join(d, "admin.token"), "w") as f:
        f.write(os.urandom(16).hex() + "\n")
    os.makedirs(os.path.join(d, "rules"), exist_ok=True)
    path = os.path.join(d, "storkd.yaml")
    with open(path, "w") as f:
        f.write(f"""node: idle-memory
workers: 1
listen:
  http: ["127.0.0.1:0"]
  https: ["127.0.0.1:0"]
admin:
  listen: "127.0.0.1:0"
  token_file: admin.token
tls:
  certificates: certs
  default: bench
rules:
  path: rules
timeouts:
  header_read: 120s
  keepalive: 600s
limits:
  connections_per_worker: {n + 1000}
access_log: "off"
""")
    return path


# ---------------------------------------------------------------- servers

class Server:
    """A started server: pid to measure, http/https ports, stop()."""

    def __init__(self, proc, pid, http, https, log):
        self.proc, self.pid, self.http, self.https, self.log = proc, pid, http, https, log

    def stop(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def start_storkd(binary, config):
    proc = subprocess.Popen([binary, "--config", config], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, bufsize=1)
    log, ready = [], threading.Event()
    found = {}
    pattern = re.compile(r"http on (\S+?), https on (\S+?), admin on (\S+?),")

    def drain():
        for line in proc.stdout:
            log.append(line)
            m = pattern.search(line)
            if m and not ready.is_set():
                found["http"], found["https"] = m.group(1), m.group(2)
                ready.set()
        ready.set()  # exited

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(30) or "https" not in found:
        proc.kill()
        sys.exit("storkd did not report its listeners:\n" + "".join(log))
    port = lambda a: int(a.rsplit(":", 1)[1])
    return Server(proc, proc.pid, port(found["http"]), port(found["https"]), log)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_nginx(d, crt, key, n):
    http, https = free_port(), free_port()
    root = os.path.join(d, "nginx")
    os.makedirs(root, exist_ok=True)
    conf = os.path.join(root, "nginx.conf")
    with open(conf, "w") as f:
        f.write(f"""worker_processes 1;
worker_rlimit_nofile {n + 1000};
pid {root}/nginx.pid;
error_log {root}/error.log warn;
events {{ worker_connections {n + 1000}; }}
http {{
  access_log off;
  keepalive_requests 1000000;
  keepalive_timeout 600s;
  client_body_temp_path {root}/body;
  proxy_temp_path {root}/proxy;
  fastcgi_temp_path {root}/fastcgi;
  uwsgi_temp_path {root}/uwsgi;
  scgi_temp_path {root}/scgi;
  ssl_certificate {crt};
  ssl_certificate_key {key};
  ssl_protocols TLSv1.2 TLSv1.3;
  server {{ listen 127.0.0.1:{http} default_server; return 404; }}
  server {{ listen 127.0.0.1:{https} ssl http2 default_server; return 404; }}
}}
""")
    proc = subprocess.Popen(["nginx", "-p", root, "-c", conf, "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    worker = None
    while time.monotonic() < deadline and worker is None:  # the worker is master's only child
        try:
            with open(f"/proc/{proc.pid}/task/{proc.pid}/children") as f:
                kids = f.read().split()
            if kids:
                with socket.create_connection(("127.0.0.1", https), timeout=1):
                    worker = int(kids[0])
        except OSError:
            pass
        if proc.poll() is not None:
            sys.exit("nginx exited: " + open(os.path.join(root, "error.log")).read())
        time.sleep(0.05)
    if worker is None:
        proc.kill()
        sys.exit("nginx did not start")
    return Server(proc, worker, http, https, [])


def memory(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0].rstrip(":") in FIELDS:
                out[parts[0].rstrip(":")] = int(parts[1])
    return out


# ---------------------------------------------------------------- clients

class Conn:
    __slots__ = ("sock", "stage", "buf")


def client_main(port, count, tls, ca, window, pipe):
    """Opens `count` connections, reports, then on "request" sends one request on each,
    reports, then on "close" closes them all."""
    ctx = None
    if tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
        ctx.load_verify_locations(ca)
        ctx.set_alpn_protocols(["http/1.1"])
    sel = selectors.DefaultSelector()
    conns, errors = [], []
    request = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: idle-memory\r\n\r\n" % REQUEST_HOST).encode()

    def finish(c):
        sel.unregister(c.sock)
        c.stage = "idle"

    def step(c):
        """Advances c; returns True when c is done with the current phase."""
        try:
            if c.stage == "connect":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    raise OSError(err, os.strerror(err))
                if not tls:
                    return True
                sel.unregister(c.sock)
                c.sock = ctx.wrap_socket(c.sock, server_hostname=SNI, do_handshake_on_connect=False)
                sel.register(c.sock, selectors.EVENT_WRITE, c)
                c.stage = "handshake"
            if c.stage == "handshake":
                try:
                    c.sock.do_handshake()
                    return True
                except ssl.SSLWantReadError:
                    sel.modify(c.sock, selectors.EVENT_READ, c)
                except ssl.SSLWantWriteError:
                    sel.modify(c.sock, selectors.EVENT_WRITE, c)
                return False
            if c.stage == "send":
                c.sock.sendall(request)  # small: fits the socket buffer at once
                c.stage, c.buf = "response", b""
                sel.modify(c.sock, selectors.EVENT_READ, c)
                return False
            if c.stage == "response":
                while True:
                    try:
                        chunk = c.sock.recv(65536)
                    except (ssl.SSLWantReadError, BlockingIOError):
                        return False
                    if not chunk:
                        raise OSError("server closed the connection after the request")
                    c.buf += chunk
                    head_end = c.buf.find(b"\r\n\r\n")
                    if head_end >= 0:
                        m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", c.buf[:head_end])
                        if m and len(c.buf) >= head_end + 4 + int(m.group(1)):
                            if b"connection: close" in c.buf[:head_end].lower():
                                raise OSError("server asked to close the connection")
                            c.buf = None
                            return True
        except (OSError, ssl.SSLError) as e:
            errors.append(f"{c.stage}: {e}")
            try:
                sel.unregister(c.sock)
            except (KeyError, ValueError):
                pass
            c.sock.close()
            c.stage = "failed"
            return True
        return False

    def pump(pending, start):
        """Runs start(c) for each pending connection, at most `window` in flight."""
        in_flight = 0
        pending = list(pending)
        while pending or in_flight:
            while pending and in_flight < window:
                c = pending.pop()
                if start(c):
                    in_flight += 1
            for key, _ in sel.select(timeout=5):
                c = key.data
                if step(c):
                    in_flight -= 1
                    if c.stage != "failed":
                        finish(c)
            if not sel.get_map() and in_flight:
                break

    def start_connect(c):
        c.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        c.sock.setblocking(False)
        c.sock.connect_ex(("127.0.0.1", port))
        c.stage = "connect"
        sel.register(c.sock, selectors.EVENT_WRITE, c)
        conns.append(c)
        return True

    def start_request(c):
        if c.stage != "idle":
            return False
        c.stage = "send"
        sel.register(c.sock, selectors.EVENT_WRITE, c)
        return True

    t0 = time.monotonic()
    pump((Conn() for _ in range(count)), start_connect)
    pipe.send(("open", sum(c.stage == "idle" for c in conns), time.monotonic() - t0, errors[:5]))
    while True:
        cmd = pipe.recv()
        if cmd == "request":
            errors.clear()
            t0 = time.monotonic()
            pump(list(conns), start_request)
            pipe.send(("request", sum(c.stage == "idle" for c in conns), time.monotonic() - t0, errors[:5]))
        elif cmd == "check":
            # Still open? TCP_INFO's first byte is the state: 1 = ESTABLISHED (a peer
            # that closed leaves CLOSE_WAIT). Unread TLS tickets do not disturb it.
            alive = sum(1 for c in conns if c.stage == "idle" and
                        c.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 8)[0] == 1)
            pipe.send(("check", alive))
        elif cmd == "close":
            for c in conns:
                c.sock.close()
            pipe.send(("closed",))
            return


def open_clients(port, n, tls, ca, clients, window):
    per = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    procs, pipes = [], []
    ctx = mp.get_context("fork")
    for count in per:
        a, b = ctx.Pipe()
        p = ctx.Process(target=client_main, args=(port, count, tls, ca, window, b), daemon=True)
        p.start()
        procs.append(p)
        pipes.append(a)
    return procs, pipes


def gather(pipes, expect):
    replies = [p.recv() for p in pipes]
    for r in replies:
        if r[0] != expect:
            raise RuntimeError(f"client said {r}, expected {expect}")
    return replies


def settle(pid, seconds=1.0):
    """Waits until Rss stops changing (the server has finished the last bits of work)."""
    last = memory(pid)["Rss"]
    for _ in range(20):
        time.sleep(seconds / 4)
        now = memory(pid)["Rss"]
        if now == last:
            return
        last = now


def warm_up(port, tls, ca, count=64):
    """A few connections of the same kind, each with a request, closed: one-time
    allocations (OpenSSL's lazy tables, thread-locals, the worker's buffer pool's
    first blocks) land before the baseline."""
    procs, pipes = open_clients(port, count, tls, ca, 1, 16)
    gather(pipes, "open")
    for p in pipes:
        p.send("request")
    gather(pipes, "request")
    for p in pipes:
        p.send("close")
    gather(pipes, "closed")
    for p in procs:
        p.join()


def scenario(name, server, tls, ca, n, clients, window):
    port = server.https if tls else server.http
    warm_up(port, tls, ca)
    settle(server.pid)
    before = memory(server.pid)
    procs, pipes = open_clients(port, n, tls, ca, clients, window)
    replies = gather(pipes, "open")
    opened = sum(r[1] for r in replies)
    open_s = max(r[2] for r in replies)
    errs = [e for r in replies for e in r[3]]
    settle(server.pid)
    idle = memory(server.pid)
    for p in pipes:
        p.send("check")
    alive_idle = sum(r[1] for r in gather(pipes, "check"))
    for p in pipes:
        p.send("request")
    replies = gather(pipes, "request")
    answered = sum(r[1] for r in replies)
    req_s = max(r[2] for r in replies)
    errs += [e for r in replies for e in r[3]]
    settle(server.pid)
    after = memory(server.pid)
    for p in pipes:
        p.send("check")
    alive_req = sum(r[1] for r in gather(pipes, "check"))
    for p in pipes:
        p.send("close")
    gather(pipes, "closed")
    for p in procs:
        p.join()
    settle(server.pid)
    closed = memory(server.pid)
    per = lambda m, k: (m[k] - before[k]) / n
    result = {
        "scenario": name, "n": n, "opened": opened, "open_seconds": round(open_s, 2),
        "alive_idle": alive_idle, "answered": answered, "request_seconds": round(req_s, 2),
        "alive_after_request": alive_req, "errors": errs[:5],
        "kib_before": before, "kib_idle": idle, "kib_after_request": after, "kib_after_close": closed,
        "per_conn_idle": {k: round(per(idle, k), 2) for k in FIELDS},
        "per_conn_after_request": {k: round(per(after, k), 2) for k in FIELDS},
    }
    return result


def print_result(server_name, r):
    print(f"\n{server_name} {r['scenario']}: {r['opened']}/{r['n']} opened in {r['open_seconds']} s "
          f"({r['alive_idle']} still open), {r['answered']} answered one request in {r['request_seconds']} s "
          f"({r['alive_after_request']} still open)")
    if r["errors"]:
        print("  errors (first 5):", r["errors"])
    print(f"  {'KiB':<24}" + "".join(f"{k:>14}" for k in FIELDS))
    for label, key in (("before (warmed up)", "kib_before"), ("N idle", "kib_idle"),
                       ("N idle after 1 request", "kib_after_request"), ("all closed", "kib_after_close")):
        print(f"  {label:<24}" + "".join(f"{r[key][k]:>14}" for k in FIELDS))
    for label, key in (("per conn, idle", "per_conn_idle"), ("per conn, after request", "per_conn_after_request")):
        print(f"  {label:<24}" + "".join(f"{r[key][k]:>14.2f}" for k in FIELDS))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--storkd", default=os.path.join(here, "..", "..", "build", "bin", "storkd"))
    ap.add_argument("-n", type=int, default=10000, help="connections per scenario (10000)")
    ap.add_argument("--clients", type=int, default=max(2, os.cpu_count() or 2), help="client processes")
    ap.add_argument("--window", type=int, default=64, help="connections in flight per client process")
    ap.add_argument("--scenarios", default="tls,plain", help="tls,plain")
    ap.add_argument("--nginx", action="store_true", help="also measure nginx (same method)")
    ap.add_argument("--no-storkd", action="store_true")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.n + 1000  # the server holds n; each client process n/clients
    if hard != resource.RLIM_INFINITY and hard < need:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} < {need}: raise it (ulimit -Hn) or lower -n")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, need), hard))  # servers inherit it

    d = tempfile.mkdtemp(prefix="stork-idle-memory-")
    ca, crt, key = make_certificates(d)
    results = []
    scenarios = [s for s in args.scenarios.split(",") if s]
    print(f"n={args.n}, {args.clients} client processes, window {args.window}, temp {d}")
    try:
        if not args.no_storkd:
            binary = os.path.abspath(args.storkd)
            config = storkd_config(d, args.n)
            for s in scenarios:
                server = start_storkd(binary, config)
                try:
                    r = scenario(s, server, s == "tls", ca, args.n, args.clients, args.window)
                finally:
                    server.stop()
                r["server"] = "storkd"
                print_result("storkd", r)
                results.append(r)
        if args.nginx:
            for s in scenarios:
                server = start_nginx(d, crt, key, args.n)
                try:
                    r = scenario(s, server, s == "tls", ca, args.n, args.clients, args.window)
                finally:
                    server.stop()
                r["server"] = "nginx"
                print_result("nginx", r)
                results.append(r)
    finally:
        if not args.keep:
            subprocess.run(["rm", "-rf", d])
    print("\nsummary: KiB per connection (Rss delta / N; Anonymous in brackets)")
    for r in results:
        print(f"  {r['server']:<7} {r['scenario']:<6} idle {r['per_conn_idle']['Rss']:>7.2f} "
              f"[{r['per_conn_idle']['Anonymous']:.2f}]   after one request "
              f"{r['per_conn_after_request']['Rss']:>7.2f} [{r['per_conn_after_request']['Anonymous']:.2f}]")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
