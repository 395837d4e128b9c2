#!/usr/bin/python3
"""A TLS origin behind a PROXY protocol v2 header, for storkd's passthrough tests.

A passthrough rule with "proxy_protocol": true (issue 5 §5) makes storkd write a PROXY v2
header (haproxy's proxy-protocol.txt §2.2) before the client's untouched TLS bytes. This
origin reads that header, then terminates the client's TLS (the header is consumed byte by
byte, so the ClientHello behind it is still in the socket) and answers one HTTP/1.1
request with what it saw, as JSON:

  {"proxy": {"command": "PROXY", "family": "TCP4", "source": "127.0.0.1:40112",
             "destination": "127.0.0.1:443", "tlv_bytes": 0} | null,
   "proxy_error": null | "why the first bytes were not a v2 header",
   "sni": "pp.example.com" | null}

"proxy" is null when the connection did not start with the v2 signature; TLS is then
attempted on the bytes as they are, so a test sees "no header" instead of a hang.
The same object is printed on stdout as a `CONNECTION {...}` line.

    pp2_origin.py --cert CRT --key KEY      prints `READY port=<port>` once listening
Stopped by SIGTERM.
"""

import argparse
import json
import signal
import socket
import ssl
import struct
import sys
import threading
import time

SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"


def recv_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise EOFError("connection closed after %d of %d header bytes" % (len(data), n))
        data += chunk
    return data


def read_proxy_header(sock):
    """(description, error): consumes a v2 header when the connection starts with one."""
    sock.settimeout(10)
    while True:
        peeked = sock.recv(16, socket.MSG_PEEK)
        if not peeked:
            return None, "connection closed before any byte"
        n = min(len(peeked), 12)
        if peeked[:n] != SIGNATURE[:n]:
            return None, "no PROXY v2 signature; first bytes %s" % peeked.hex()
        if len(peeked) >= 16:
            break
        time.sleep(0.005)  # a header split over segments: its rest is on the way
    fixed = recv_exactly(sock, 16)
    version, command = fixed[12] >> 4, fixed[12] & 0xF
    family = fixed[13]
    length = struct.unpack(">H", fixed[14:16])[0]
    body = recv_exactly(sock, length)
    if version != 2:
        return None, "version %d" % version
    d = {"command": {0: "LOCAL", 1: "PROXY"}.get(command, "0x%x" % command)}
    if family == 0x11 and length >= 12:
        src, dst = socket.inet_ntop(socket.AF_INET, body[0:4]), socket.inet_ntop(socket.AF_INET, body[4:8])
        sport, dport = struct.unpack(">HH", body[8:12])
        d.update(family="TCP4", source="%s:%d" % (src, sport), destination="%s:%d" % (dst, dport),
                 tlv_bytes=length - 12)
    elif family == 0x21 and length >= 36:
        src, dst = socket.inet_ntop(socket.AF_INET6, body[0:16]), socket.inet_ntop(socket.AF_INET6, body[16:32])
        sport, dport = struct.unpack(">HH", body[32:36])
        d.update(family="TCP6", source="[%s]:%d" % (src, sport), destination="[%s]:%d" % (dst, dport),
                 tlv_bytes=length - 36)
    else:
        d.update(family="0x%02x" % family, tlv_bytes=length)
    return d, None


def serve(conn, ctx):
    seen = {"proxy": None, "proxy_error": None, "sni": None}
    try:
        seen["proxy"], seen["proxy_error"] = read_proxy_header(conn)
        tls = ctx.wrap_socket(conn, server_side=True)
        seen["sni"] = getattr(tls, "stork_sni", None)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = tls.recv(4096)
            if not chunk:
                break
            head += chunk
        body = json.dumps(seen).encode()
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                    b"X-Origin-Sni: %s\r\nContent-Length: %d\r\n\r\n" % ((seen["sni"] or "(none)").encode(),
                                                                         len(body)) + body)
        tls.close()
    except (OSError, ssl.SSLError, EOFError) as e:
        seen["error"] = "%s: %s" % (type(e).__name__, e)
        conn.close()
    print("CONNECTION " + json.dumps(seen), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    args = parser.parse_args()

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    ctx.set_alpn_protocols(["http/1.1"])

    def on_sni(ssl_socket, server_name, initial):
        ssl_socket.stork_sni = server_name
        return None

    ctx.sni_callback = on_sni

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print("READY port=%d" % listener.getsockname()[1], flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=serve, args=(conn, ctx), daemon=True).start()


if __name__ == "__main__":
    main()
