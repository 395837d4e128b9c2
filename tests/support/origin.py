#!/usr/bin/python3
"""The test origin that storkd's loopback and process tests proxy to.

An HTTP/1.1 server written on raw asyncio streams, not http.server: the tests need exact
control of the framing (Content-Length, chunked, until-close, resets in the middle of a
response), and http.server decides those for us. A WebSocket echo server (python3-websockets)
runs on a second port.

Run it with Debian's /usr/bin/python3 (python3-websockets 10.4). It binds 127.0.0.1 port 0
twice and prints one line, `READY http=<port> ws=<port>`, once both listen.

With `--tls-cert NAME CRT KEY` (repeatable) a third listener serves the same endpoints over
TLS (ALPN http/1.1 only), and the READY line ends with ` https=<port>`. The certificate is
chosen by the SNI the client sent (ssl.SSLContext.sni_callback, one context per NAME; NAME
is a host name or `*.parent` for one label); the first NAME is served when SNI is absent or
matches nothing. On TLS connections every response carries `X-Origin-Sni: <sni>` (`(none)`
when the client sent none), /echo adds "tls" and "sni", and /stats counts TLS connections and
lists every SNI received, failed handshakes included (issue 5 §6: storkd's upstream TLS
must send the Host it forwards as SNI).

Endpoints (query strings allowed on all of them; see tests/support/origin_instance.hpp):
  /stats                counters, as JSON (see `stats` below for what they count)
  /echo                 the request as JSON: method, target, version, headers in order,
                        body size and SHA-256, and the id of the TCP connection
  /bytes/<N>            N bytes, byte i = i % 251; ?chunked=1 in 16 KiB chunks, ?close=1
                        without a length, ended by closing the connection
  /upload               reads the body as a stream, answers its size and SHA-256;
                        ?reject=1 with Expect: 100-continue answers 417 and closes unread
  /status/<code>        that status with a short body (none for 204 and 304)
  /reset-before-head    RST without answering
  /reset-after-head     a head with Content-Length: 1000, 10 bytes, then RST
  /slow?ms=N            200 "slow" after N ms
  anything else         200 "hello" with X-Origin: stork-test
Every response carries X-Connection-Id.
"""

import argparse
import asyncio
import hashlib
import http
import json
import signal
import socket
import ssl
import struct
import sys
import traceback
import urllib.parse

import websockets

MAX_HEAD = 1024 * 1024
BYTES_WRITE = 64 * 1024
CHUNK = 16 * 1024
PATTERN_MOD = 251
# byte i of /bytes is i % 251: any slice [o, o + n) with n <= BYTES_WRITE is a slice of this
# block starting at o % 251.
PATTERN = bytes(range(PATTERN_MOD)) * (BYTES_WRITE // PATTERN_MOD + 2)


class bad_request(Exception):
    pass


class stats:
    """What the origin has seen.

    Observing must not change what is observed: a connection whose first request is
    /stats is a control connection (the fixture's own), left out of the connection counts,
    and /stats requests are left out of the request count. So a test can read the stats
    as often as it likes and still compare them with what storkd should have done.
    """

    def __init__(self):
        self.accepted = 0
        self.open = 0
        self.control_accepted = 0
        self.control_open = 0
        self.requests = 0
        self.tls_accepted = 0  # TLS connections whose handshake succeeded
        self.sni = []  # the SNI of every ClientHello, in order ("" for none)

    def as_json(self):
        return {
            "connections_accepted": self.accepted - self.control_accepted,
            "connections_open": self.open - self.control_open,
            "requests": self.requests,
            "tls_connections_accepted": self.tls_accepted,
            "sni": self.sni,
        }


STATS = stats()
NEXT_CONNECTION_ID = 1


class request:
    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # [(name, value)] as received
        split = urllib.parse.urlsplit(target)
        self.path = split.path
        self.query = dict(urllib.parse.parse_qsl(split.query))

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n.lower() == name:
                return v
        return None

    def header_tokens(self, name):
        name = name.lower()
        tokens = []
        for n, v in self.headers:
            if n.lower() == name:
                tokens.extend(t.strip().lower() for t in v.split(",") if t.strip())
        return tokens


class connection:
    def __init__(self, reader, writer, conn_id):
        self.reader = reader
        self.writer = writer
        self.id = conn_id
        self.control = None  # decided by the first request
        self.body_left = 0  # Content-Length body bytes not read yet
        self.chunked = False  # the body is chunked and its last chunk was not read yet
        self.continue_pending = False  # Expect: 100-continue, 100 not sent yet
        self.tls = False
        self.sni = None  # on TLS connections: the SNI received, None when there was none

    # --- reading ------------------------------------------------------------------------

    async def read_head(self):
        """The next request's head, or None on a clean end between requests."""
        try:
            raw = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            if e.partial.strip(b"\r\n") == b"":
                return None
            raise bad_request("connection closed inside a head")
        except asyncio.LimitOverrunError:
            raise bad_request("head too large")
        lines = raw[:-4].decode("latin-1").split("\r\n")
        # RFC 9112 §2.2: a server SHOULD ignore at least one empty line before a request.
        while lines and lines[0] == "":
            lines.pop(0)
        if not lines:
            raise bad_request("empty head")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise bad_request("bad request line: %r" % lines[0])
        headers = []
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or not name or name != name.strip():
                raise bad_request("bad field line: %r" % line)
            headers.append((name, value.strip(" \t")))
        req = request(parts[0], parts[1], parts[2], headers)

        te = req.header_tokens("transfer-encoding")
        cl = [v for n, v in headers if n.lower() == "content-length"]
        if te:
            if te[-1] != "chunked" or cl:
                raise bad_request("unsupported framing")
            self.chunked = True
            self.body_left = 0
        elif cl:
            if len(cl) != 1 or not cl[0].isdigit():
                raise bad_request("bad Content-Length")
            self.chunked = False
            self.body_left = int(cl[0])
        else:
            self.chunked = False
            self.body_left = 0
        self.continue_pending = "100-continue" in req.header_tokens("expect") and self.has_body()
        return req

    def has_body(self):
        return self.chunked or self.body_left > 0

    async def body_chunks(self):
        """The request body, decoded, as it arrives. Sends 100 Continue first if asked."""
        if self.continue_pending:
            self.continue_pending = False
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self.writer.drain()
        while self.body_left > 0:
            data = await self.reader.read(min(self.body_left, BYTES_WRITE))
            if not data:
                raise bad_request("connection closed inside a body")
            self.body_left -= len(data)
            yield data
        while self.chunked:
            line = await self.reader.readuntil(b"\r\n")
            size_text = line[:-2].split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise bad_request("bad chunk size %r" % size_text)
            if size == 0:
                # Trailer fields up to the empty line.
                while await self.reader.readuntil(b"\r\n") != b"\r\n":
                    pass
                self.chunked = False
                break
            while size > 0:
                data = await self.reader.read(min(size, BYTES_WRITE))
                if not data:
                    raise bad_request("connection closed inside a chunk")
                size -= len(data)
                yield data
            if await self.reader.readexactly(2) != b"\r\n":
                raise bad_request("chunk data not followed by CRLF")

    async def read_body(self):
        """(size, sha256 hex) of the whole body."""
        digest = hashlib.sha256()
        size = 0
        async for data in self.body_chunks():
            size += len(data)
            digest.update(data)
        return size, digest.hexdigest()

    # --- writing ------------------------------------------------------------------------

    def head(self, status, headers, close):
        reason = "Unknown"
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            pass
        lines = ["HTTP/1.1 %d %s" % (status, reason)]
        lines += ["%s: %s" % (n, v) for n, v in headers]
        lines.append("X-Connection-Id: %d" % self.id)
        if self.tls:
            lines.append("X-Origin-Sni: %s" % (self.sni if self.sni is not None else "(none)"))
        if close:
            lines.append("Connection: close")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    async def respond(self, req, status, body=b"", headers=(), close=False, length=True):
        headers = list(headers)
        if length:
            headers.append(("Content-Length", str(len(body))))
        data = self.head(status, headers, close)
        if req is None or req.method != "HEAD":
            data += body
        self.writer.write(data)
        await self.writer.drain()

    async def reset(self):
        """Closes the socket with SO_LINGER 0: the peer gets an RST, not a FIN."""
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


def wants_close(req):
    tokens = req.header_tokens("connection")
    if req.version == "HTTP/1.0":
        return "keep-alive" not in tokens
    return "close" in tokens


def json_body(value):
    return json.dumps(value).encode(), [("Content-Type", "application/json")]


# --- endpoints: each returns True when the connection must close after it ------------------


async def on_stats(conn, req, close):
    body, headers = json_body(STATS.as_json())
    await conn.respond(req, 200, body, headers, close)
    return close


async def on_echo(conn, req, close):
    size, digest = await conn.read_body()
    body, headers = json_body({
        "method": req.method,
        "target": req.target,
        "version": req.version,
        "headers": [[n, v] for n, v in req.headers],
        "body_bytes": size,
        "body_sha256": digest,
        "connection_id": conn.id,
        "tls": conn.tls,
        "sni": conn.sni,
    })
    await conn.respond(req, 200, body, headers, close)
    return close


async def on_bytes(conn, req, close):
    try:
        total = int(req.path[len("/bytes/"):])
    except ValueError:
        await conn.respond(req, 400, b"bad size\n", close=close)
        return close
    chunked = req.query.get("chunked") == "1" and req.version == "HTTP/1.1"
    until_close = req.query.get("close") == "1"
    headers = [("Content-Type", "application/octet-stream")]
    if until_close:
        # RFC 9112 §6.3 rule 8: no length and no chunked coding, the body ends with the
        # connection.
        close = True
    elif chunked:
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", str(total)))
    conn.writer.write(conn.head(200, headers, close))
    if req.method == "HEAD":
        await conn.writer.drain()
        return close
    step = CHUNK if chunked else BYTES_WRITE
    offset = 0
    while offset < total:
        n = min(step, total - offset)
        start = offset % PATTERN_MOD
        data = PATTERN[start:start + n]
        if chunked:
            conn.writer.write(b"%x\r\n" % n + data + b"\r\n")
        else:
            conn.writer.write(data)
        offset += n
        # Backpressure: never more than the transport's high-water mark buffered.
        await conn.writer.drain()
    if chunked:
        conn.writer.write(b"0\r\n\r\n")
        await conn.writer.drain()
    return close


async def on_upload(conn, req, close):
    if req.query.get("reject") == "1" and conn.continue_pending:
        # RFC 9110 §10.1.1: a server that will not accept the body answers a final status
        # instead of 100; the body may still come, so the connection closes.
        await conn.respond(req, 417, b"rejected\n", close=True)
        return True
    size, digest = await conn.read_body()
    body, headers = json_body({"body_bytes": size, "body_sha256": digest})
    await conn.respond(req, 200, body, headers, close)
    return close


async def on_status(conn, req, close):
    try:
        code = int(req.path[len("/status/"):])
    except ValueError:
        code = 0
    if not 200 <= code <= 999:
        await conn.respond(req, 400, b"bad status\n", close=close)
        return close
    if code in (204, 304):
        await conn.respond(req, code, length=False, close=close)
    else:
        await conn.respond(req, code, b"status %d\n" % code, close=close)
    return close


async def on_reset_before_head(conn, req, close):
    await conn.reset()
    return True


async def on_reset_after_head(conn, req, close):
    # A high-water mark of 0 makes drain() wait until the transport has handed every byte
    # to the kernel: abort() would otherwise drop what is still buffered.
    conn.writer.transport.set_write_buffer_limits(high=0)
    conn.writer.write(conn.head(200, [("Content-Length", "1000")], False) + b"0123456789")
    await conn.writer.drain()
    # Let the peer read the head before the RST lands, so that it sees "reset after the
    # head" (what this endpoint is for) rather than racing its read against the reset.
    await asyncio.sleep(0.05)
    await conn.reset()
    return True


async def on_slow(conn, req, close):
    try:
        ms = int(req.query.get("ms", "0"))
    except ValueError:
        ms = 0
    await asyncio.sleep(ms / 1000.0)
    await conn.respond(req, 200, b"slow", close=close)
    return close


async def on_hello(conn, req, close):
    await conn.respond(req, 200, b"hello", [("X-Origin", "stork-test")], close)
    return close


def endpoint(path):
    if path == "/stats":
        return on_stats
    if path == "/echo":
        return on_echo
    if path.startswith("/bytes/"):
        return on_bytes
    if path == "/upload":
        return on_upload
    if path.startswith("/status/"):
        return on_status
    if path == "/reset-before-head":
        return on_reset_before_head
    if path == "/reset-after-head":
        return on_reset_after_head
    if path == "/slow":
        return on_slow
    return on_hello


# --- connections ---------------------------------------------------------------------------


async def serve_connection(conn):
    """Requests in order (pipelined ones wait in the reader's buffer) until one closes."""
    while True:
        req = await conn.read_head()
        if req is None:
            return
        if conn.control is None:
            conn.control = req.path == "/stats"
            if conn.control:
                STATS.control_accepted += 1
                STATS.control_open += 1
        if req.path != "/stats":
            STATS.requests += 1
        close = await endpoint(req.path)(conn, req, wants_close(req))
        if close:
            return
        # Whatever body the endpoint did not read is read and dropped, so that the next
        # request starts at the right byte. An unanswered 100-continue is not sent now:
        # the client sends the body anyway after the final response (RFC 9110 §10.1.1).
        conn.continue_pending = False
        async for _ in conn.body_chunks():
            pass


async def on_connection(reader, writer):
    global NEXT_CONNECTION_ID
    conn = connection(reader, writer, NEXT_CONNECTION_ID)
    NEXT_CONNECTION_ID += 1
    ssl_object = writer.get_extra_info("ssl_object")
    if ssl_object is not None:
        conn.tls = True
        conn.sni = getattr(ssl_object, "stork_sni", None)
        STATS.tls_accepted += 1
    STATS.accepted += 1
    STATS.open += 1
    try:
        await serve_connection(conn)
    except bad_request as e:
        print("origin: connection %d: %s" % (conn.id, e), file=sys.stderr, flush=True)
        try:
            await conn.respond(None, 400, b"bad request\n", close=True)
        except (ConnectionError, OSError):
            pass
    except (ConnectionError, asyncio.IncompleteReadError):
        pass  # the peer went away; proxies do that
    except asyncio.CancelledError:
        raise
    except Exception:
        print("origin: connection %d:" % conn.id, file=sys.stderr, flush=True)
        traceback.print_exc(file=sys.stderr)
    finally:
        STATS.open -= 1
        if conn.control:
            STATS.control_open -= 1
        if not writer.transport.is_closing():
            writer.close()
        try:
            await writer.wait_closed()
        except (ConnectionError, OSError):
            pass


async def ws_echo(websocket):
    async for message in websocket:
        await websocket.send(message)


def name_covers(name, host):
    """Whether certificate NAME covers host: exact, or `*.parent` for exactly one label."""
    host = host.lower().rstrip(".")
    name = name.lower()
    if name.startswith("*."):
        label, dot, parent = host.partition(".")
        return bool(label) and dot == "." and parent == name[2:]
    return host == name


def tls_context(certs):
    """The listener's context: certificates chosen by SNI, the first one by default.

    One SSLContext per NAME; the SNI callback moves the handshake to the one that covers the
    name and records what the client sent on the SSLObject, where on_connection finds it.
    """
    contexts = []
    for name, crt, key in certs:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(crt, key)
        ctx.set_alpn_protocols(["http/1.1"])
        contexts.append((name, ctx))

    def on_sni(ssl_object, server_name, initial):
        ssl_object.stork_sni = server_name
        STATS.sni.append(server_name or "")
        if server_name:
            for name, ctx in contexts:
                if name_covers(name, server_name):
                    if ctx is not initial:
                        ssl_object.context = ctx
                    break
        return None

    listener = contexts[0][1]
    listener.sni_callback = on_sni
    return listener


def parse_args():
    parser = argparse.ArgumentParser(description="the test origin of storkd's process tests")
    parser.add_argument("--tls-cert", nargs=3, action="append", default=[], metavar=("NAME", "CRT", "KEY"),
                        help="serve HTTPS too; NAME's certificate for SNI NAME (the first one by default)")
    return parser.parse_args()


async def main():
    args = parse_args()
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    http_server = await asyncio.start_server(on_connection, "127.0.0.1", 0, limit=MAX_HEAD)
    ws_server = await websockets.serve(ws_echo, "127.0.0.1", 0)
    http_port = http_server.sockets[0].getsockname()[1]
    ws_port = ws_server.sockets[0].getsockname()[1]
    servers = [http_server, ws_server]
    ready = "READY http=%d ws=%d" % (http_port, ws_port)
    if args.tls_cert:
        https_server = await asyncio.start_server(on_connection, "127.0.0.1", 0, limit=MAX_HEAD,
                                                  ssl=tls_context(args.tls_cert), ssl_handshake_timeout=10)
        servers.append(https_server)
        ready += " https=%d" % https_server.sockets[0].getsockname()[1]
    print(ready, flush=True)

    await stop.wait()
    for server in servers:
        server.close()
    for server in servers:
        await server.wait_closed()


if __name__ == "__main__":
    asyncio.run(main())
