#!/usr/bin/python3
"""A raw HTTP/2 client that sends malformed frame sequences and reports what came back.

For storkd's process tests (issue 5 §6: "a raw HTTP/2 client sending malformed frames gets
GOAWAY, never a crash"). A real client library refuses to send what this one must send, so
frames are written byte by byte here (RFC 9113 §4.1); python3-h2's HPACK codec (hpack)
encodes and decodes header blocks. TLS with ALPN h2 (the ssl module), certificate verified
against --cafile for --servername.

    h2_bad_client.py --port P --servername a.example.com --cafile ca.crt --scenario NAME
    h2_bad_client.py --list

Prints one JSON object on stdout:
  scenario, alpn            what ran, and the protocol the server selected
  goaway                    null, or {last_stream_id, error_code, error, debug}: the first GOAWAY
  rst_stream                the first 20 RST_STREAMs: [{stream_id, error_code, error}]
  rst_stream_count          all of them
  frames                    received frames by type name
  ping_acks                 PING ACKs received
  probe_acked               after its malformed sequence the client sends a PING of its own;
                            true when the server acknowledged it (the connection still works)
  status                    the :status of stream 1's response, when one came (scenario valid)
  stream_1_ended            whether stream 1's response ended (END_STREAM)
  closed, close_reason      whether the server ended the connection: "eof", "reset", "tls: ..."
                            ("timeout" when it was still open at the deadline)
  send_error                set when the server closed while we were still sending
  error                     set, with exit status 2, when no TLS connection was made
Exit status 0 whenever a connection was made, whatever the server did with it.
"""

import argparse
import json
import socket
import ssl
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
FRAME_NAMES = ["DATA", "HEADERS", "PRIORITY", "RST_STREAM", "SETTINGS", "PUSH_PROMISE", "PING", "GOAWAY",
               "WINDOW_UPDATE", "CONTINUATION"]
END_STREAM, ACK, END_HEADERS, PADDED, PRIORITY_FLAG = 0x1, 0x1, 0x4, 0x8, 0x20

# RFC 9113 §7.
ERROR_NAMES = ["NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR", "SETTINGS_TIMEOUT",
               "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL", "COMPRESSION_ERROR",
               "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"]

SETTINGS_ENABLE_PUSH = 0x2
SETTINGS_INITIAL_WINDOW_SIZE = 0x4

PROBE = b"stork-ok"
FLOOD = 1000


def error_name(code):
    return ERROR_NAMES[code] if code < len(ERROR_NAMES) else "0x%x" % code


def frame(kind, flags, stream_id, payload=b"", length=None):
    """One frame; `length` overrides the header's length field (for lies about it)."""
    n = len(payload) if length is None else length
    return struct.pack(">I", n)[1:] + bytes([kind, flags]) + struct.pack(">I", stream_id & 0x7FFFFFFF) + payload


def settings(*pairs):
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", k, v) for k, v in pairs))


class client:
    def __init__(self, args):
        self.args = args
        self.encoder = hpack.Encoder()
        self.decoder = hpack.Decoder()
        self.sock = None
        self.buffer = b""
        self.header_block = None  # (stream_id, bytes) while CONTINUATIONs are expected
        self.report = {
            "scenario": args.scenario, "alpn": None, "goaway": None, "rst_stream": [], "rst_stream_count": 0,
            "frames": {}, "ping_acks": 0, "probe_acked": False, "status": None, "closed": False,
            "close_reason": None, "send_error": None, "error": None, "stream_1_ended": False,
        }

    # --- the connection ---------------------------------------------------------------------

    def connect(self):
        ctx = ssl.create_default_context(cafile=self.args.cafile)
        ctx.set_alpn_protocols(["h2"])
        raw = socket.create_connection(("127.0.0.1", self.args.port), timeout=self.args.timeout)
        self.sock = ctx.wrap_socket(raw, server_hostname=self.args.servername)
        self.report["alpn"] = self.sock.selected_alpn_protocol()

    def send(self, data):
        if self.report["send_error"] is not None:
            return False
        try:
            self.sock.sendall(data)
            return True
        except (OSError, ssl.SSLError) as e:
            self.report["send_error"] = "%s: %s" % (type(e).__name__, e)
            return False

    def request_headers(self, stream_id, method="GET", path="/", end_stream=True, extra=()):
        block = self.encoder.encode([(":method", method), (":scheme", "https"),
                                     (":authority", self.args.authority or self.args.servername),
                                     (":path", path)] + list(extra))
        return frame(HEADERS, END_HEADERS | (END_STREAM if end_stream else 0), stream_id, block)

    # --- reading ------------------------------------------------------------------------------

    def read_frames(self, done):
        """Reads and records frames until done() holds, the server closes, or the deadline."""
        deadline = time.monotonic() + self.args.timeout
        goaway_at = None
        while not done():
            now = time.monotonic()
            if goaway_at is not None and now - goaway_at > 1.0:
                break  # a GOAWAY without the close that should follow it: enough seen
            if now >= deadline:
                self.report["close_reason"] = "timeout"
                return
            self.sock.settimeout(max(0.05, min(deadline - now, 0.25)))
            try:
                data = self.sock.recv(65536)
            except (socket.timeout, TimeoutError):
                continue
            except ssl.SSLError as e:
                self.closed("tls: %s" % e)
                return
            except ConnectionResetError:
                self.closed("reset")
                return
            except OSError as e:
                self.closed("%s" % e)
                return
            if not data:
                self.closed("eof")
                return
            self.buffer += data
            while len(self.buffer) >= 9:
                length = int.from_bytes(self.buffer[:3], "big")
                if len(self.buffer) < 9 + length:
                    break
                kind, flags = self.buffer[3], self.buffer[4]
                stream_id = int.from_bytes(self.buffer[5:9], "big") & 0x7FFFFFFF
                payload = self.buffer[9:9 + length]
                self.buffer = self.buffer[9 + length:]
                self.on_frame(kind, flags, stream_id, payload)
                if kind == GOAWAY and goaway_at is None:
                    goaway_at = time.monotonic()

    def closed(self, reason):
        self.report["closed"] = True
        self.report["close_reason"] = reason

    def on_frame(self, kind, flags, stream_id, payload):
        name = FRAME_NAMES[kind] if kind < len(FRAME_NAMES) else "0x%x" % kind
        self.report["frames"][name] = self.report["frames"].get(name, 0) + 1
        if stream_id == 1 and kind in (HEADERS, DATA) and flags & END_STREAM:
            self.report["stream_1_ended"] = True
        if kind == SETTINGS and not flags & ACK:
            self.send(frame(SETTINGS, ACK, 0))
        elif kind == PING and flags & ACK:
            self.report["ping_acks"] += 1
            if payload == PROBE:
                self.report["probe_acked"] = True
        elif kind == GOAWAY and self.report["goaway"] is None and len(payload) >= 8:
            code = int.from_bytes(payload[4:8], "big")
            self.report["goaway"] = {
                "last_stream_id": int.from_bytes(payload[:4], "big") & 0x7FFFFFFF, "error_code": code,
                "error": error_name(code), "debug": payload[8:].decode("utf-8", "replace"),
            }
        elif kind == RST_STREAM and len(payload) >= 4:
            code = int.from_bytes(payload[:4], "big")
            self.report["rst_stream_count"] += 1
            if len(self.report["rst_stream"]) < 20:
                self.report["rst_stream"].append({"stream_id": stream_id, "error_code": code,
                                                  "error": error_name(code)})
        elif kind == HEADERS:
            block = payload
            if flags & PADDED and block:
                block = block[1:len(block) - block[0]]
            if flags & PRIORITY_FLAG:
                block = block[5:]
            if flags & END_HEADERS:
                self.on_header_block(stream_id, block)
            else:
                self.header_block = (stream_id, block)
        elif kind == CONTINUATION and self.header_block is not None:
            sid, block = self.header_block
            block += payload
            if flags & END_HEADERS:
                self.header_block = None
                self.on_header_block(sid, block)
            else:
                self.header_block = (sid, block)

    def on_header_block(self, stream_id, block):
        try:
            fields = self.decoder.decode(block)
        except Exception:  # a broken block from the server is its bug; report what we can
            return
        for name, value in fields:
            if name in (":status", b":status") and stream_id == 1 and self.report["status"] is None:
                self.report["status"] = int(value)

    def probe_then_read(self):
        """Sends our PING and reads until it is acknowledged or the server closes."""
        self.send(frame(PING, 0, 0, PROBE))
        self.read_frames(lambda: self.report["probe_acked"])

    # --- scenarios ----------------------------------------------------------------------------

    def start(self):
        """The preface and an empty SETTINGS, as every client begins (RFC 9113 §3.4)."""
        self.send(PREFACE + settings())

    def valid(self):
        self.start()
        self.send(self.request_headers(1))
        self.read_frames(lambda: self.report["stream_1_ended"] or self.report["rst_stream_count"] > 0)
        self.probe_then_read()

    def bad_preface(self):
        self.send(b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n" + settings())
        self.read_frames(lambda: False)

    def data_on_stream_0(self):
        self.start()
        self.send(frame(DATA, END_STREAM, 0, b"hello"))
        self.probe_then_read()

    def headers_on_even_stream(self):
        self.start()
        self.send(self.request_headers(2))
        self.probe_then_read()

    def uppercase_header_name(self):
        # RFC 9113 §8.2.1: a field name with upper-case characters makes the request malformed.
        self.start()
        self.send(self.request_headers(1, extra=[("X-Upper-Case", "1")]))
        self.probe_then_read()

    def oversized_frame(self):
        # RFC 9113 §4.2: larger than SETTINGS_MAX_FRAME_SIZE (16384 until the server raises it).
        self.start()
        self.send(self.request_headers(1, method="POST", end_stream=False))
        self.send(frame(DATA, END_STREAM, 1, b"x" * 20000))
        self.probe_then_read()

    def window_update_zero(self):
        # RFC 9113 §6.9: an increment of 0 on stream 0 is a connection error.
        self.start()
        self.send(frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", 0)))
        self.probe_then_read()

    def rst_on_idle_stream(self):
        # RFC 9113 §6.4: RST_STREAM on an idle stream is a connection error.
        self.start()
        self.send(frame(RST_STREAM, 0, 5, struct.pack(">I", 8)))
        self.probe_then_read()

    def rst_flood(self):
        # "Rapid reset" (CVE-2023-44487): open a stream and cancel it, 1000 times.
        self.start()
        batch = b""
        for i in range(FLOOD):
            sid = 1 + 2 * i
            batch += self.request_headers(sid) + frame(RST_STREAM, 0, sid, struct.pack(">I", 8))
            if len(batch) > 32768:
                if not self.send(batch):
                    break
                batch = b""
        self.send(batch)
        self.probe_then_read()

    def ping_flood(self):
        self.start()
        self.send(b"".join(frame(PING, 0, 0, struct.pack(">Q", i)) for i in range(FLOOD)))
        self.probe_then_read()

    def settings_invalid_value(self):
        # RFC 9113 §6.5.2: ENABLE_PUSH other than 0 or 1 is a PROTOCOL_ERROR.
        self.start()
        self.send(settings((SETTINGS_ENABLE_PUSH, 2)))
        self.probe_then_read()

    def settings_window_too_large(self):
        # RFC 9113 §6.5.2: INITIAL_WINDOW_SIZE above 2^31-1 is a FLOW_CONTROL_ERROR.
        self.start()
        self.send(settings((SETTINGS_INITIAL_WINDOW_SIZE, 0x80000000)))
        self.probe_then_read()

    def hpack_garbage(self):
        # RFC 9113 §4.3: a header block that does not decode is a COMPRESSION_ERROR.
        self.start()
        self.send(frame(HEADERS, END_HEADERS | END_STREAM, 1, b"\xff\xff\xff\xff\xff\xff\xff\xff\x7f"))
        self.probe_then_read()

    def continuation_without_headers(self):
        # RFC 9113 §6.10: CONTINUATION not preceded by HEADERS without END_HEADERS.
        self.start()
        self.send(frame(CONTINUATION, END_HEADERS, 1, self.encoder.encode([("x-a", "b")])))
        self.probe_then_read()


SCENARIOS = [
    "valid", "bad_preface", "data_on_stream_0", "headers_on_even_stream", "uppercase_header_name",
    "oversized_frame", "window_update_zero", "rst_on_idle_stream", "rst_flood", "ping_flood",
    "settings_invalid_value", "settings_window_too_large", "hpack_garbage", "continuation_without_headers",
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int)
    parser.add_argument("--servername", default="localhost", help="SNI and the name verified")
    parser.add_argument("--authority", help=":authority (default: --servername)")
    parser.add_argument("--cafile", help="CA certificates to verify the server with")
    parser.add_argument("--scenario", choices=SCENARIOS)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the server")
    parser.add_argument("--list", action="store_true", help="print the scenario names and exit")
    args = parser.parse_args()
    if args.list:
        print("\n".join(SCENARIOS))
        return 0
    if args.port is None or args.scenario is None:
        parser.error("--port and --scenario are required")

    c = client(args)
    try:
        c.connect()
    except (OSError, ssl.SSLError) as e:
        c.report["error"] = "%s: %s" % (type(e).__name__, e)
        print(json.dumps(c.report), flush=True)
        return 2
    if c.report["alpn"] != "h2":
        c.report["error"] = "the server did not select h2 (ALPN %r)" % c.report["alpn"]
        print(json.dumps(c.report), flush=True)
        return 2
    getattr(c, args.scenario)()
    try:
        c.sock.close()
    except OSError:
        pass
    print(json.dumps(c.report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
