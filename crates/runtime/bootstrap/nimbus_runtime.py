"""Nimbus's Python runtime: loads the handler named by _HANDLER and serves invocations from the
Lambda Runtime API (2018-06-01) at AWS_LAMBDA_RUNTIME_API.

Started as `python3 -S -u bootstrap.py <opt dir>`; `bootstrap.py` only imports this module, so
that it is compiled once and cached in `__pycache__` (a main script is compiled on every start).
Written for start-up speed: it imports only built-in modules (no `socket`, `json` or
`http.client` packages, which cost milliseconds each) and speaks HTTP/1.1 itself over one
kept-alive connection to the platform's own server.
"""

import os
import sys
import time
import _socket
import _json

_API = os.environ.get("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9001")
_TASK_ROOT = os.environ.get("LAMBDA_TASK_ROOT", os.getcwd())
_OPT = sys.argv[1] if len(sys.argv) > 1 else "/opt"


# --- JSON with the C accelerator only (the `json` package imports `re`) -----------------------

def _constant(name):
    return {"NaN": float("nan"), "Infinity": float("inf"), "-Infinity": float("-inf")}[name]


class _DecodeContext:
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_constant)
    memo = {}


try:
    _scan = _json.make_scanner(_DecodeContext())

    def _not_serializable(o):
        raise TypeError("Object of type %s is not JSON serializable" % type(o).__name__)


    def json_loads(text):
        text = text.strip(" \t\n\r")
        try:
            value, end = _scan(text, 0)
        except StopIteration as e:
            import json
            return json.loads(text)  # raises the precise error
        if end != len(text):
            import json
            return json.loads(text)
        return value

    def json_dumps(value):
        # A fresh encoder per call: its circular-reference markers must start empty.
        encode = _json.make_encoder(
            {}, _not_serializable, _json.encode_basestring_ascii, None, ": ", ", ", False, False, True
        )
        return "".join(encode(value, 0))

    json_dumps({"probe": [1, 2.5, None, True, "x"]})
except Exception:  # an interpreter whose accelerator differs: use the package
    import json

    json_loads = json.loads
    json_dumps = json.dumps


# --- sys.path as Lambda builds it ---------------------------------------------------------------

def _setup_path():
    version = "python%d.%d" % sys.version_info[:2]
    front = [
        _TASK_ROOT,
        _OPT + "/python/lib/" + version + "/site-packages",
        _OPT + "/python",
    ]
    for entry in reversed(front):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    # The interpreter's own site-packages (what `site` would add), without running the host's
    # .pth import hooks; their plain path lines are honoured.
    site_packages = sys.prefix + "/lib/" + version + "/site-packages"
    if site_packages not in sys.path and os.path.isdir(site_packages):
        sys.path.append(site_packages)
        try:
            names = sorted(n for n in os.listdir(site_packages) if n.endswith(".pth"))
        except OSError:
            names = []
        for name in names:
            try:
                with open(site_packages + "/" + name) as f:
                    for line in f:
                        line = line.strip()
                        if not line or line.startswith(("#", "import ", "import\t")):
                            continue
                        path = os.path.join(site_packages, line)
                        if path not in sys.path and os.path.exists(path):
                            sys.path.append(path)
            except OSError:
                pass


# --- the Runtime API client ---------------------------------------------------------------------

class RuntimeApi:
    def __init__(self, address):
        host, _, port = address.rpartition(":")
        self.address = (host or "127.0.0.1", int(port))
        self.host = address.encode()
        self.sock = None
        self.buf = b""

    def _connect(self):
        sock = _socket.socket(_socket.AF_INET, _socket.SOCK_STREAM)
        sock.setsockopt(_socket.IPPROTO_TCP, _socket.TCP_NODELAY, 1)
        sock.connect(self.address)
        self.sock = sock
        self.buf = b""

    def request(self, method, path, body=b"", headers=None):
        head = [method.encode(), b" ", path.encode(), b" HTTP/1.1\r\nHost: ", self.host, b"\r\n"]
        if headers:
            for k, v in headers.items():
                head.append(("%s: %s\r\n" % (k, v)).encode("latin-1", "replace"))
        if method != "GET":
            head.append(b"Content-Length: %d\r\n" % len(body))
        head.append(b"\r\n")
        data = b"".join(head) + body
        for attempt in (0, 1):
            try:
                if self.sock is None:
                    self._connect()
                self.sock.sendall(data)
                return self._read_response()
            except OSError:
                self.close()
                if attempt:
                    raise

    def close(self):
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self.buf = b""

    def _fill(self):
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionResetError("runtime api closed the connection")
        self.buf += chunk

    def _read_response(self):
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
        if headers.get("transfer-encoding", "").lower() == "chunked":
            self.buf = rest
            body = self._read_chunked()
        else:
            length = int(headers.get("content-length", "0"))
            self.buf = rest
            while len(self.buf) < length:
                self._fill()
            body, self.buf = self.buf[:length], self.buf[length:]
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, body

    def _read_chunked(self):
        parts = []
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            size_line, _, self.buf = self.buf.partition(b"\r\n")
            size = int(size_line.split(b";")[0], 16)
            while len(self.buf) < size + 2:
                self._fill()
            if size == 0:
                # trailers, if any, end with an empty line
                while not (self.buf.startswith(b"\r\n") or b"\r\n\r\n" in self.buf):
                    self._fill()
                if self.buf.startswith(b"\r\n"):
                    self.buf = self.buf[2:]
                else:
                    self.buf = self.buf.partition(b"\r\n\r\n")[2]
                return b"".join(parts)
            parts.append(self.buf[:size])
            self.buf = self.buf[size + 2:]


# --- the context object -------------------------------------------------------------------------

class Client(object):
    __slots__ = ("installation_id", "app_title", "app_version_name", "app_version_code", "app_package_name")

    def __init__(self, d):
        self.installation_id = d.get("installation_id")
        self.app_title = d.get("app_title")
        self.app_version_name = d.get("app_version_name")
        self.app_version_code = d.get("app_version_code")
        self.app_package_name = d.get("app_package_name")


class ClientContext(object):
    __slots__ = ("custom", "env", "client")

    def __init__(self, d):
        self.custom = d.get("custom")
        self.env = d.get("env")
        c = d.get("client")
        self.client = Client(c) if isinstance(c, dict) else None


class CognitoIdentity(object):
    __slots__ = ("cognito_identity_id", "cognito_identity_pool_id")

    def __init__(self, d):
        self.cognito_identity_id = d.get("cognitoIdentityId")
        self.cognito_identity_pool_id = d.get("cognitoIdentityPoolId")


class LambdaContext(object):
    def __init__(self, request_id, deadline_ms, invoked_function_arn, client_context, identity):
        self.aws_request_id = request_id
        self.invoked_function_arn = invoked_function_arn
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.client_context = client_context
        self.identity = identity
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self):
        return max(int(self._deadline_ms - time.time() * 1000), 0)

    def log(self, message):
        sys.stdout.write(str(message))

    def __repr__(self):
        return (
            "LambdaContext([aws_request_id=%s,log_group_name=%s,log_stream_name=%s,function_name=%s,"
            "memory_limit_in_mb=%s,function_version=%s,invoked_function_arn=%s,client_context=%s,identity=%s])"
            % (
                self.aws_request_id, self.log_group_name, self.log_stream_name, self.function_name,
                self.memory_limit_in_mb, self.function_version, self.invoked_function_arn,
                self.client_context, self.identity,
            )
        )


# --- errors ---------------------------------------------------------------------------------------

class FaultError(Exception):
    """An init failure with Lambda's own error type (Runtime.ImportModuleError, ...)."""

    def __init__(self, error_type, message, trace=None):
        Exception.__init__(self, message)
        self.error_type = error_type
        self.message = message
        self.trace = trace or []


_OWN_FILES = (__file__, __file__[:-len("nimbus_runtime.py")] + "bootstrap.py")


def _stack(tb):
    import traceback

    frames = [
        f for f in traceback.extract_tb(tb)
        if f.filename not in _OWN_FILES and not f.filename.startswith("<frozen importlib")
    ]
    return traceback.format_list(frames)


def _error_document(error_type, message, request_id, stack):
    return {"errorMessage": message, "errorType": error_type, "requestId": request_id, "stackTrace": stack}


def _log_error(doc):
    # One log event: Lambda's text format keeps a multi-line error in one record.
    lines = ["[ERROR] %s: %s" % (doc["errorType"], doc["errorMessage"])]
    if doc["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(s.rstrip("\n") for s in doc["stackTrace"])
    sys.stdout.write("\r".join(lines).replace("\n", "\r") + "\n")


def _exception_document(exc, request_id):
    return _error_document(type(exc).__name__, str(exc), request_id, _stack(exc.__traceback__))


# --- the handler --------------------------------------------------------------------------------

def load_handler(handler):
    try:
        module_name, function_name = handler.rsplit(".", 1)
    except ValueError as e:
        raise FaultError("Runtime.MalformedHandlerName", "Bad handler '%s': %s" % (handler, e))
    module_name = module_name.replace("/", ".")
    if module_name.split(".")[0] in sys.builtin_module_names:
        raise FaultError(
            "Runtime.BuiltInModuleConflict",
            "Cannot use built-in module %s as a handler module" % module_name,
        )
    try:
        __import__(module_name)
        module = sys.modules[module_name]
    except ImportError as e:
        raise FaultError("Runtime.ImportModuleError", "Unable to import module '%s': %s" % (module_name, e))
    except SyntaxError as e:
        trace = ['  File "%s" Line %s\n    %s' % (e.filename, e.lineno, e.text)]
        raise FaultError("Runtime.UserCodeSyntaxError", "Syntax error in module '%s': %s" % (module_name, e), trace)
    try:
        return getattr(module, function_name)
    except AttributeError:
        raise FaultError(
            "Runtime.HandlerNotFound", "Handler '%s' missing on module '%s'" % (function_name, module_name)
        )


# --- logging as Lambda configures it --------------------------------------------------------------

_current_request_id = ""


def _configure_logging(logging):
    """Lambda gives the root logger a handler writing `[LEVEL]\ttime\trequest id\tmessage` (so a
    later `basicConfig()` is a no-op, as there)."""
    root = logging.getLogger()
    if root.handlers:
        return

    class LambdaLoggerHandler(logging.Handler):
        def emit(self, record):
            try:
                record.aws_request_id = _current_request_id
                sys.stdout.write(self.format(record).replace("\n", "\r") + "\n")
            except Exception:
                self.handleError(record)

    handler = LambdaLoggerHandler()
    handler.setFormatter(
        logging.Formatter(
            "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(aws_request_id)s\t%(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    root.addHandler(handler)


class _LoggingLoader(object):
    """Runs the real loader of `logging`, then configures it."""

    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _configure_logging(module)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _LoggingFinder(object):
    """Importing `logging` costs milliseconds, so the bootstrap does not: this finder configures
    it the moment the function imports it."""

    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if name != "logging":
            return None
        try:
            sys.meta_path.remove(cls)
        except ValueError:
            pass
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(name, path, target) if find is not None else None
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _LoggingLoader(spec.loader)
                return spec
        return None


if "logging" in sys.modules:
    _configure_logging(sys.modules["logging"])
else:
    sys.meta_path.insert(0, _LoggingFinder)


def _parse_json_header(value, cls):
    if not value:
        return None
    try:
        d = json_loads(value)
    except Exception:
        return None
    return cls(d) if isinstance(d, dict) else None


def main():
    _setup_path()
    api = RuntimeApi(_API)
    handler_name = os.environ.get("_HANDLER", "")
    try:
        handler = load_handler(handler_name)
    except FaultError as f:
        doc = _error_document(f.error_type, f.message, "", f.trace)
        _log_error(doc)
        api.request(
            "POST", "/2018-06-01/runtime/init/error", json_dumps(doc).encode(),
            {"Lambda-Runtime-Function-Error-Type": f.error_type, "Content-Type": "application/json"},
        )
        sys.exit(1)
    except Exception as e:
        doc = _exception_document(e, "")
        _log_error(doc)
        api.request(
            "POST", "/2018-06-01/runtime/init/error", json_dumps(doc).encode(),
            {"Lambda-Runtime-Function-Error-Type": "Runtime.Unknown", "Content-Type": "application/json"},
        )
        sys.exit(1)

    global _current_request_id
    while True:
        status, headers, body = api.request("GET", "/2018-06-01/runtime/invocation/next")
        if status != 200:
            sys.stderr.write("runtime api /next answered %d, exiting\n" % status)
            sys.exit(1)
        request_id = headers.get("lambda-runtime-aws-request-id", "")
        _current_request_id = request_id
        trace_id = headers.get("lambda-runtime-trace-id")
        if trace_id:
            os.environ["_X_AMZN_TRACE_ID"] = trace_id
        else:
            os.environ.pop("_X_AMZN_TRACE_ID", None)
        context = LambdaContext(
            request_id,
            int(headers.get("lambda-runtime-deadline-ms", "0")),
            headers.get("lambda-runtime-invoked-function-arn"),
            _parse_json_header(headers.get("lambda-runtime-client-context"), ClientContext),
            # Like Lambda's: an identity object always, with None fields when there is none.
            _parse_json_header(headers.get("lambda-runtime-cognito-identity"), CognitoIdentity)
            or CognitoIdentity({}),
        )
        base = "/2018-06-01/runtime/invocation/" + request_id
        try:
            try:
                event = json_loads(body.decode("utf-8")) if body else {}
            except Exception as e:
                raise FaultError("Runtime.UnmarshalError", "Unable to unmarshal input: %s" % e)
            result = handler(event, context)
            try:
                out = json_dumps(result).encode("utf-8")
            except Exception as e:
                raise FaultError("Runtime.MarshalError", "Unable to marshal response: %s" % e)
        except FaultError as f:
            doc = _error_document(f.error_type, f.message, request_id, f.trace)
            _log_error(doc)
            api.request("POST", base + "/error", json_dumps(doc).encode(),
                        {"Lambda-Runtime-Function-Error-Type": f.error_type, "Content-Type": "application/json"})
            continue
        except Exception as e:
            doc = _exception_document(e, request_id)
            _log_error(doc)
            api.request("POST", base + "/error", json_dumps(doc).encode(),
                        {"Lambda-Runtime-Function-Error-Type": doc["errorType"], "Content-Type": "application/json"})
            continue
        status, _, _ = api.request("POST", base + "/response", out, {"Content-Type": "application/json"})
        if status == 413:
            sys.stdout.write("[ERROR] Response payload size exceeded the limit (6291556 bytes)\n")


if __name__ == "__main__":
    main()
