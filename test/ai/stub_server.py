#!/usr/bin/env python3
"""Deterministic stub of the OpenAI chat completions protocol, for crm_hygiene's tests.

    python3 test/ai/stub_server.py --port-file FILE [--port 0] [--accept-key KEY] [--verbose]

Binds 127.0.0.1 (port 0 = ephemeral), writes the bound port into FILE (tmp + rename) once
listening, serves until SIGTERM/SIGINT, then removes FILE (if it still holds this server's
port) and exits 0. Python standard library only.

No model is involved: the reply is chosen by the request's "model" string:

  stub, stub-ok*        a valid instance of response_format.json_schema.schema
  stub-invalid          an instance violating the schema
  stub-invalid-once     invalid the first time a given last user message is seen, then valid
  stub-not-json         content "this is not JSON"
  stub-truncated        the valid JSON text cut in half, finish_reason "length"
  stub-slow-<ms>        sleeps <ms> milliseconds, then the valid reply
  stub-error-<code>     HTTP <code> (400..599) with an OpenAI error body (429: Retry-After: 1)
  stub-auth             valid only with "Authorization: Bearer <accept-key>", else 401 whose
                        message echoes the full key received (to test the client's redaction)
  stub-no-usage         the valid reply without "usage"
  stub-empty            200 with "choices": []
  anything else         404 "model not found"

Other endpoints: GET /v1/models, GET /stats, POST /reset. The Authorization header's value
is never stored, logged or returned except in stub-auth's 401 body.
"""

import argparse
import hashlib
import http.server
import json
import math
import os
import signal
import sys
import threading
import time

CHAT_PATHS = ("/v1/chat/completions", "/chat/completions")
MAX_BODY = 64 * 1024 * 1024


# --------------------------------------------------------------------------------------------
# Schema instances


def label_hash(text):
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16)


def _first_type(schema):
    t = schema.get("type")
    if isinstance(t, list):
        return t[0] if t else None
    if isinstance(t, str):
        return t
    if isinstance(schema.get("properties"), dict):
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    return None


def _bounds(schema, integer):
    """(lo, lo_exclusive, hi, hi_exclusive); draft-4 boolean and draft-6+ numeric exclusives."""
    lo = schema.get("minimum")
    hi = schema.get("maximum")
    lo_x = hi_x = False
    emin = schema.get("exclusiveMinimum")
    emax = schema.get("exclusiveMaximum")
    if isinstance(emin, bool):
        lo_x = emin and lo is not None
    elif isinstance(emin, (int, float)):
        if lo is None or emin >= lo:
            lo, lo_x = emin, True
    if isinstance(emax, bool):
        hi_x = emax and hi is not None
    elif isinstance(emax, (int, float)):
        if hi is None or emax <= hi:
            hi, hi_x = emax, True
    if not isinstance(lo, (int, float)) or isinstance(lo, bool):
        lo, lo_x = None, False
    if not isinstance(hi, (int, float)) or isinstance(hi, bool):
        hi, hi_x = None, False
    if integer:
        # Turn into inclusive integer bounds.
        if lo is not None:
            lo = math.floor(lo) + 1 if lo_x else math.ceil(lo)
            lo_x = False
        if hi is not None:
            hi = math.ceil(hi) - 1 if hi_x else math.floor(hi)
            hi_x = False
    return lo, lo_x, hi, hi_x


def _number(schema, integer):
    lo, lo_x, hi, hi_x = _bounds(schema, integer)
    default = 0 if integer else 0.5
    if "minimum" in schema and lo is not None:
        v = lo
    elif hi is not None and hi < default:
        v = hi
    else:
        v = default
    # Move inside the bounds.
    if lo is not None and (v < lo or (lo_x and v <= lo)):
        if not lo_x:
            v = lo
        elif hi is not None:
            v = (lo + hi) / 2
        else:
            v = lo + 1
    if hi is not None and (v > hi or (hi_x and v >= hi)):
        if not hi_x:
            v = hi
        elif lo is not None:
            v = (lo + hi) / 2
        else:
            v = hi - 1
    if integer:
        return int(v)
    return float(v)


_FORMATS = {
    "date-time": "2000-01-01T00:00:00Z",
    "date": "2000-01-01",
    "time": "00:00:00Z",
    "email": "stub@example.invalid",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "uri": "https://example.invalid/stub",
    "hostname": "example.invalid",
    "ipv4": "127.0.0.1",
}


def _string(schema):
    s = _FORMATS.get(schema.get("format"), "stub")
    lo = schema.get("minLength")
    hi = schema.get("maxLength")
    if isinstance(lo, int) and len(s) < lo:
        s = s + "x" * (lo - len(s))
    if isinstance(hi, int) and hi >= 0 and len(s) > hi:
        s = s[:hi]
    return s


def instance(schema, h, depth=0):
    """A deterministic value valid against (the common subset of) JSON Schema."""
    if depth > 32 or not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return enum[h % len(enum)]
    for key in ("anyOf", "oneOf"):
        alts = schema.get(key)
        if isinstance(alts, list) and alts:
            return instance(alts[0], h, depth + 1)
    alls = schema.get("allOf")
    if isinstance(alls, list) and alls and "type" not in schema:
        return instance(alls[0], h, depth + 1)
    t = _first_type(schema)
    if t == "object":
        props = schema.get("properties")
        out = {}
        if isinstance(props, dict):
            for name, sub in props.items():
                out[name] = instance(sub, h, depth + 1)
        return out
    if t == "array":
        n = schema.get("minItems", 0)
        n = n if isinstance(n, int) and n > 0 else 0
        items = schema.get("prefixItems")
        if not isinstance(items, list):
            items = schema.get("items")
        if isinstance(items, list):  # tuple form
            return [instance(items[i] if i < len(items) else {}, h, depth + 1) for i in range(max(n, len(items)))]
        return [instance(items if isinstance(items, dict) else {}, h, depth + 1) for _ in range(n)]
    if t == "string":
        return _string(schema)
    if t == "number":
        return _number(schema, False)
    if t == "integer":
        return _number(schema, True)
    if t == "boolean":
        return True
    if t == "null":
        return None
    return None  # no type: anything is valid


def invalid_instance(schema, h):
    """An instance violating the schema, per the stub-invalid rules."""
    if isinstance(schema, dict) and _first_type(schema) == "object":
        valid = instance(schema, h)
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        for name, sub in props.items():
            if isinstance(sub, dict) and isinstance(sub.get("enum"), list):
                valid[name] = "not-a-label"
                return valid
        required = schema.get("required")
        if isinstance(required, list) and required:
            valid.pop(required[0], None)
            return valid
    return "invalid"


def compact(value):
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------------------------
# Server state


class State:
    def __init__(self, accept_key, verbose):
        self.accept_key = accept_key
        self.verbose = verbose
        self.lock = threading.Lock()
        self.seq = 0  # reply ids; not reset, so ids stay unique
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = 0
            self.by_model = {}
            self.in_flight = getattr(self, "in_flight", 0)
            self.max_in_flight = 0
            self.last_request = None
            self.last_authorization_present = False
            self.seen_once = set()

    def begin(self):
        with self.lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def end(self):
        with self.lock:
            self.in_flight -= 1

    def record(self, model, body, auth_present):
        with self.lock:
            self.requests += 1
            key = model if isinstance(model, str) else ""
            self.by_model[key] = self.by_model.get(key, 0) + 1
            self.last_request = body
            self.last_authorization_present = auth_present

    def first_time(self, text):
        with self.lock:
            if text in self.seen_once:
                return False
            self.seen_once.add(text)
            return True

    def next_id(self):
        with self.lock:
            self.seq += 1
            return "chatcmpl-stub-%d" % self.seq

    def stats(self):
        with self.lock:
            return {
                "requests": self.requests,
                "by_model": dict(self.by_model),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "last_request": self.last_request,
                "last_authorization_present": self.last_authorization_present,
            }


def error_body(message, etype="invalid_request_error", code=None, param=None):
    return {"error": {"message": message, "type": etype, "param": param, "code": code}}


def content_text(content):
    """Text of a message's content: a string, or the text parts of a content-part list."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for p in content:
            if isinstance(p, dict) and isinstance(p.get("text"), str):
                parts.append(p["text"])
            elif isinstance(p, str):
                parts.append(p)
        return "".join(parts)
    return ""


class Reply(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


# --------------------------------------------------------------------------------------------
# HTTP


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as libcurl expects
    disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stalls
    server_version = "crm-ai-stub/1"
    sys_version = ""

    # Nothing per request unless --verbose; and never headers.
    def log_message(self, fmt, *args):
        if self.server.state.verbose:
            sys.stderr.write("stub: %s %s\n" % (self.address_string(), fmt % args))

    def log_request(self, code="-", size="-"):
        if self.server.state.verbose:
            extra = getattr(self, "_model", None)
            sys.stderr.write("stub: %s %s -> %s%s\n" % (
                self.command, self.path, code, "" if extra is None else " model=%s" % extra))

    def send(self, status, body, headers=None):
        data = (compact(body) if not isinstance(body, (bytes, bytearray)) else body)
        if isinstance(data, str):
            data = data.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        # Headers and body in one write: a reply in two segments meets the client's delayed ACK
        # on a kept-alive connection (40 ms a request).
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(data)
        self.flush_headers()
        self.wfile.flush()

    def read_body(self):
        te = self.headers.get("Transfer-Encoding", "")
        if "chunked" in te.lower():
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise Reply(413, error_body("request body too large"))
                chunks.append(self.rfile.read(size))
                self.rfile.readline(65537)
            return b"".join(chunks)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            self.close_connection = True
            raise Reply(413, error_body("request body too large"))
        return self.rfile.read(n) if n > 0 else b""

    def route(self):
        return self.path.split("?", 1)[0]

    def do_GET(self):
        self._model = None
        path = self.route()
        if path in ("/v1/models", "/models"):
            self.send(200, {"object": "list", "data": [{"id": "stub", "object": "model", "owned_by": "crm-ai-stub"}]})
        elif path == "/stats":
            self.send(200, self.server.state.stats())
        else:
            self.send(404, error_body("no such endpoint: GET %s" % path))

    def do_POST(self):
        self._model = None
        path = self.route()
        if path in CHAT_PATHS:
            state = self.server.state
            state.begin()
            try:
                try:
                    status, body, headers = self.chat()
                except Reply as r:
                    status, body, headers = r.status, r.body, r.headers
                except Exception as e:  # a stub bug: say so rather than drop the connection
                    status, body, headers = 500, error_body("stub internal error: %s" % e, "server_error"), {}
                self.send(status, body, headers)
            finally:
                state.end()
            return
        try:
            self.read_body()
        except Reply as r:
            self.send(r.status, r.body, r.headers)
            return
        if path == "/reset":
            self.server.state.reset()
            self.send(200, {"ok": True})
        else:
            self.send(404, error_body("no such endpoint: POST %s" % path))

    def chat(self):
        state = self.server.state
        raw = self.read_body()
        auth = self.headers.get("Authorization")
        try:
            req = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            state.record(None, raw.decode("utf-8", "replace"), auth is not None)
            raise Reply(400, error_body("We could not parse the JSON body of your request."))
        model = req.get("model") if isinstance(req, dict) else None
        self._model = model
        state.record(model, req, auth is not None)
        if not isinstance(req, dict):
            raise Reply(400, error_body("The request body must be a JSON object."))
        if not isinstance(model, str) or not model:
            raise Reply(400, error_body("you must provide a model parameter", param="model"))

        # Authentication first, as real providers do.
        if model == "stub-auth":
            expected = "Bearer " + state.accept_key
            if auth != expected:
                got = auth or ""
                key = got[7:] if got.startswith("Bearer ") else got
                raise Reply(401, error_body(
                    "Incorrect API key provided: %s. You can find your API key at https://example.invalid." % key,
                    code="invalid_api_key"))

        rf = req.get("response_format")
        if not isinstance(rf, dict):
            raise Reply(400, error_body("response_format is required (type json_schema)", param="response_format"))
        if rf.get("type") != "json_schema":
            raise Reply(400, error_body("response_format.type must be 'json_schema'", param="response_format.type"))
        js = rf.get("json_schema")
        if not isinstance(js, dict) or not isinstance(js.get("schema"), dict):
            raise Reply(400, error_body("response_format.json_schema.schema must be an object",
                                        param="response_format.json_schema"))
        schema = js["schema"]
        messages = req.get("messages")
        if not isinstance(messages, list):
            raise Reply(400, error_body("messages must be an array", param="messages"))

        last_user = ""
        prompt_chars = 0
        for m in messages:
            if isinstance(m, dict):
                text = content_text(m.get("content"))
                prompt_chars += len(text)
                if m.get("role") == "user":
                    last_user = text
        h = label_hash(last_user)

        def valid():
            return compact(instance(schema, h))

        def invalid():
            return compact(invalid_instance(schema, h))

        finish = "stop"
        usage = True
        if model == "stub" or model.startswith("stub-ok") or model == "stub-auth":
            content = valid()
        elif model == "stub-invalid":
            content = invalid()
        elif model == "stub-invalid-once":
            content = invalid() if state.first_time(last_user) else valid()
        elif model == "stub-not-json":
            content = "this is not JSON"
        elif model == "stub-truncated":
            text = valid()
            content = text[: len(text) // 2]
            finish = "length"
        elif model.startswith("stub-slow-") and model[len("stub-slow-"):].isdigit():
            time.sleep(int(model[len("stub-slow-"):]) / 1000.0)
            content = valid()
        elif model.startswith("stub-error-") and model[len("stub-error-"):].isdigit() \
                and 400 <= int(model[len("stub-error-"):]) <= 599:
            code = int(model[len("stub-error-"):])
            if code == 429:
                raise Reply(429, error_body("Rate limit reached (stub).", "requests", "rate_limit_exceeded"),
                            {"Retry-After": "1"})
            etype = "server_error" if code >= 500 else "invalid_request_error"
            raise Reply(code, error_body("stub error %d" % code, etype))
        elif model == "stub-no-usage":
            content = valid()
            usage = False
        elif model == "stub-empty":
            return 200, self.completion(model, None, None, prompt_chars), {}
        else:
            raise Reply(404, error_body("The model `%s` does not exist (model not found)." % model,
                                        code="model_not_found", param="model"))
        body = self.completion(model, content, finish, prompt_chars)
        if not usage:
            del body["usage"]
        return 200, body, {}

    def completion(self, model, content, finish, prompt_chars):
        state = self.server.state
        choices = []
        completion_tokens = 0
        if content is not None:
            choices.append({"index": 0,
                            "message": {"role": "assistant", "content": content},
                            "finish_reason": finish})
            completion_tokens = max(1, len(content) // 4)
        prompt_tokens = max(1, prompt_chars // 4)
        return {
            "id": state.next_id(),
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": choices,
            "usage": {"prompt_tokens": prompt_tokens,
                      "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens},
        }


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def handle_error(self, request, client_address):
        # Client hang-ups etc.: silent unless --verbose.
        if self.state.verbose:
            super().handle_error(request, client_address)


def write_port_file(path, port):
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Deterministic OpenAI chat completions stub.")
    ap.add_argument("--port-file", required=True, help="where to write the bound port (atomically)")
    ap.add_argument("--port", type=int, default=0, help="port to bind on 127.0.0.1 (0 = ephemeral)")
    ap.add_argument("--accept-key", default="test-key-ok", help="the API key stub-auth accepts")
    ap.add_argument("--verbose", action="store_true", help="one line per request on stderr (no headers)")
    args = ap.parse_args(argv)

    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.accept_key, args.verbose)
    port = server.server_address[1]

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    write_port_file(args.port_file, port)
    if args.verbose:
        sys.stderr.write("stub: listening on 127.0.0.1:%d\n" % port)
        sys.stderr.flush()
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.shutdown()
        server.server_close()
        try:
            with open(args.port_file) as f:
                if f.read().strip() == str(port):
                    os.unlink(args.port_file)
        except OSError:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
