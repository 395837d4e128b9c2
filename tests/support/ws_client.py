#!/usr/bin/python3
"""A WebSocket client for the tests: sends MESSAGE --count times, prints each reply.

    ws_client.py URL MESSAGE [--count N] [--host HOST[:PORT]] [--binary] [--timeout S]

Exits 0 when every reply equals the message, 1 when one differs, 2 when the connection or
the handshake fails. Run it with Debian's /usr/bin/python3 (python3-websockets 10.4).

--host sets the Host header, to route through storkd by host name while connecting to
127.0.0.1. websockets 10.4 writes Host from the URI and refuses a second one in
extra_headers, so the client connects the TCP socket itself (to URL's address) and hands
it over with `sock=`; the URI given to websockets is then ws://HOST[:PORT]/path, which only
names the Host header (no lookup is made when a socket is given).
"""

import argparse
import asyncio
import socket
import sys
import urllib.parse

import websockets


async def exchange(args):
    url = urllib.parse.urlsplit(args.url)
    if url.scheme != "ws":
        raise SystemExit("ws_client.py: only ws:// URLs")
    path = url.path or "/"
    if url.query:
        path += "?" + url.query
    sock = socket.create_connection((url.hostname, url.port or 80), timeout=args.timeout)
    sock.setblocking(False)
    uri = "ws://%s%s" % (args.host or url.netloc, path)
    payload = args.message.encode() if args.binary else args.message
    ok = True
    async with websockets.connect(uri, sock=sock, open_timeout=args.timeout) as ws:
        for _ in range(args.count):
            await ws.send(payload)
            reply = await asyncio.wait_for(ws.recv(), args.timeout)
            print(reply.decode(errors="replace") if isinstance(reply, bytes) else reply, flush=True)
            ok = ok and reply == payload
    return ok


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("message")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--host", help="the Host header, HOST or HOST:PORT")
    parser.add_argument("--binary", action="store_true", help="send binary frames")
    parser.add_argument("--timeout", type=float, default=10.0)
    args = parser.parse_args()
    try:
        ok = asyncio.run(exchange(args))
    except (OSError, asyncio.TimeoutError, websockets.exceptions.WebSocketException) as e:
        print("ws_client.py: %s: %s" % (type(e).__name__, e), file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
