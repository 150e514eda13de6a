'use strict';
// Nimbus's Node.js runtime: loads the handler named by _HANDLER (CommonJS or ES module) and
// serves invocations from the Lambda Runtime API (2018-06-01) at AWS_LAMBDA_RUNTIME_API.
// Started as `node bootstrap.cjs <opt dir>`. Only built-in modules; one kept-alive connection.

const net = require('net');
const fs = require('fs');
const path = require('path');
const util = require('util');

const API = process.env.AWS_LAMBDA_RUNTIME_API || '127.0.0.1:9001';
const [HOST, PORT] = (() => {
  const i = API.lastIndexOf(':');
  return [API.slice(0, i) || '127.0.0.1', Number(API.slice(i + 1))];
})();
const TASK_ROOT = process.env.LAMBDA_TASK_ROOT || process.cwd();
const BASE = '/2018-06-01/runtime';

let currentRequestId; // `undefined` in log lines outside an invocation, as on Lambda
let currentInvocation = null; // { requestId, answered }

// --- console as Lambda formats it -----------------------------------------------------------
function logLine(level, args) {
  const text = util.format(...args).replace(/\n/g, '\r');
  emit(`${new Date().toISOString()}\t${currentRequestId}\t${level}\t${text}\n`);
}

// Console lines go straight to fd 1, synchronously: `process.stdout` would write them
// synchronously too, but building that stream costs about a millisecond of the first console
// line, which is usually in a cold start.
//
// stdout and stderr are one pipe, so its lines stay in order. Whatever is written must be in
// the pipe before the response is posted, or it lands after the invocation's END. libuv makes
// the pipe non-blocking when a stream is built on it and then queues what does not fit, so
// each stream is put back in blocking mode as it is built, and a write that still finds the
// pipe full waits for room.
const pause = new Int32Array(new SharedArrayBuffer(4));
function emit(text) {
  const buf = Buffer.from(text, 'utf8');
  let off = 0;
  while (off < buf.length) {
    try {
      off += fs.writeSync(1, buf, off);
    } catch (e) {
      if (e.code !== 'EAGAIN') return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}
for (const name of ['stdout', 'stderr']) {
  const d = Object.getOwnPropertyDescriptor(process, name);
  if (!d || !d.get || !d.configurable) continue;
  let blocking = false;
  Object.defineProperty(process, name, {
    configurable: true,
    enumerable: d.enumerable,
    get() {
      const stream = d.get.call(process);
      if (!blocking && stream && stream._handle && typeof stream._handle.setBlocking === 'function') {
        blocking = true;
        stream._handle.setBlocking(true);
      }
      return stream;
    },
  });
}
console.log = (...a) => logLine('INFO', a);
console.info = (...a) => logLine('INFO', a);
console.warn = (...a) => logLine('WARN', a);
console.error = (...a) => logLine('ERROR', a);
console.debug = (...a) => logLine('DEBUG', a);
console.trace = (...a) => {
  const e = new Error(util.format(...a));
  logLine('TRACE', [`Trace: ${e.message}\n${(e.stack || '').split('\n').slice(2).join('\n')}`]);
};

// --- the Runtime API client -------------------------------------------------------------------
// A plain HTTP/1.1 client on one kept-alive socket. Node's `http` client costs about 5 ms of CPU
// to load and set up, a third of what this bootstrap adds to a bare `node` start; it is loaded
// only for streamed responses, which need chunked bodies with trailers.
let socket = null;
let inbox = Buffer.alloc(0);
let waiting = null; // the read in progress: { resolve, reject }
let queue = Promise.resolve(); // requests go one at a time

function connection() {
  if (socket && !socket.destroyed) return socket;
  inbox = Buffer.alloc(0);
  socket = net.connect({ host: HOST, port: PORT });
  socket.setNoDelay(true);
  socket.on('data', (chunk) => {
    inbox = inbox.length ? Buffer.concat([inbox, chunk]) : chunk;
    if (waiting) parse();
  });
  const lost = (err) => {
    socket = null;
    if (waiting) {
      const w = waiting;
      waiting = null;
      w.reject(err || new Error('the Runtime API closed the connection'));
    }
  };
  socket.on('error', lost);
  socket.on('close', () => lost());
  return socket;
}

// Reads one response from `inbox` once it is complete (Content-Length or chunked framing).
function parse() {
  const end = inbox.indexOf('\r\n\r\n');
  if (end < 0) return;
  const lines = inbox.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(lines[0].split(' ')[1]);
  const headers = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let at = end + 4;
  let body;
  if (/chunked/i.test(headers['transfer-encoding'] || '')) {
    const parts = [];
    for (;;) {
      const eol = inbox.indexOf('\r\n', at);
      if (eol < 0) return;
      const size = parseInt(inbox.subarray(at, eol).toString('latin1'), 16);
      if (Number.isNaN(size)) return drop(new Error('bad chunk from the Runtime API'));
      if (size === 0) {
        const close = inbox.indexOf('\r\n\r\n', eol);
        if (close < 0) return;
        at = close + 4;
        break;
      }
      if (inbox.length < eol + 2 + size + 2) return;
      parts.push(inbox.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  } else {
    const length = Number(headers['content-length'] || 0);
    if (inbox.length < at + length) return;
    body = Buffer.from(inbox.subarray(at, at + length));
    at += length;
  }
  inbox = inbox.subarray(at);
  if (/close/i.test(headers.connection || '') && socket) socket.destroy();
  // An idle connection must not keep the event loop alive: callback handlers finish when it
  // empties (callbackWaitsForEmptyEventLoop).
  else if (socket) socket.unref();
  const w = waiting;
  waiting = null;
  w.resolve({ status, headers, body });
}

function drop(err) {
  if (socket) socket.destroy(err);
}

function request(method, p, body, headers) {
  const send = () =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? Buffer.alloc(0) : Buffer.from(body);
      let head = `${method} ${p} HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\n`;
      for (const [k, v] of Object.entries(headers || {})) head += `${k}: ${String(v).replace(/[\r\n]+/g, ' ')}\r\n`;
      head += `Content-Length: ${payload.length}\r\n\r\n`;
      waiting = { resolve, reject };
      const s = connection();
      s.ref();
      s.write(payload.length ? Buffer.concat([Buffer.from(head, 'utf8'), payload]) : head);
      if (inbox.length) parse();
    });
  const result = queue.then(send, send);
  queue = result.catch(() => {});
  return result;
}

// --- errors -------------------------------------------------------------------------------------
class Fault extends Error {
  constructor(type, message, cause) {
    super(message);
    this.name = type;
    if (cause && cause.stack) this.stack = `${type}: ${message}\n${String(cause.stack).split('\n').slice(1).join('\n')}`;
  }
}

function errorDocument(err) {
  if (err instanceof Error) {
    const type = err.name || (err.constructor && err.constructor.name) || 'Error';
    return { errorType: type, errorMessage: err.message, trace: String(err.stack || '').split('\n') };
  }
  let message;
  try {
    message = typeof err === 'string' ? err : JSON.stringify(err);
  } catch (_) {
    message = String(err);
  }
  return { errorType: typeof err, errorMessage: message === undefined ? String(err) : message, trace: [] };
}

function postError(p, doc, kind) {
  logLine('ERROR', [`${kind} \t${JSON.stringify(doc)}`]);
  return request('POST', p, JSON.stringify(doc), {
    'Content-Type': 'application/json',
    'Lambda-Runtime-Function-Error-Type': doc.errorType,
  });
}

// --- loading the handler --------------------------------------------------------------------
function isModuleType(dir) {
  for (let d = dir; ; d = path.dirname(d)) {
    const file = path.join(d, 'package.json');
    try {
      // A missing package.json answers undefined: an exception per folder level costs more.
      if (fs.statSync(file, { throwIfNoEntry: false })) {
        return JSON.parse(fs.readFileSync(file, 'utf8')).type === 'module';
      }
    } catch (e) {
      if (e.code !== 'ENOENT' && e.code !== 'ENOTDIR') return false;
    }
    if (path.dirname(d) === d) return false;
  }
}

async function loadModule(modulePath) {
  const base = path.resolve(TASK_ROOT, modulePath);
  let file = null;
  for (const ext of ['.js', '.mjs', '.cjs']) {
    if (fs.existsSync(base + ext)) {
      file = base + ext;
      break;
    }
  }
  try {
    if (file === null) {
      // A folder with an index, or a package in node_modules.
      try {
        file = require.resolve(base);
      } catch (_) {
        return require(modulePath);
      }
    }
    const esm = file.endsWith('.mjs') || (file.endsWith('.js') && isModuleType(path.dirname(file)));
    if (esm) return await import(require('url').pathToFileURL(file).href);
    return require(file);
  } catch (e) {
    if (e instanceof SyntaxError) throw new Fault('Runtime.UserCodeSyntaxError', `${e.name}: ${e.message}`, e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND')) {
      throw new Fault('Runtime.ImportModuleError', `${e.name}: ${e.message}`, e);
    }
    throw e;
  }
}

async function loadHandler(spec) {
  const slash = spec.lastIndexOf('/');
  const dot = spec.indexOf('.', slash + 1);
  if (dot < 0) throw new Fault('Runtime.MalformedHandlerName', `Bad handler ${spec}`);
  const modulePath = spec.slice(0, dot);
  const names = spec.slice(dot + 1).split('.');
  const mod = await loadModule(modulePath);
  let fn = mod;
  for (const n of names) fn = fn == null ? undefined : fn[n];
  if (fn === undefined && mod && mod.default && typeof mod.default === 'object') {
    fn = mod.default;
    for (const n of names) fn = fn == null ? undefined : fn[n];
  }
  if (fn === undefined) throw new Fault('Runtime.HandlerNotFound', `${spec} is undefined or not exported`);
  if (typeof fn !== 'function') throw new Fault('Runtime.HandlerNotFound', `${spec} is not a function`);
  return fn;
}

// --- response streaming (awslambda.streamifyResponse) ---------------------------------------
const STREAMING = Symbol.for('aws.lambda.runtime.handler.streaming');
const HTTP_INTEGRATION = 'application/vnd.awslambda.http-integration-response';
globalThis.awslambda = {
  streamifyResponse(fn) {
    fn[STREAMING] = true;
    return fn;
  },
  HttpResponseStream: {
    from(stream, prelude) {
      stream.setContentType(HTTP_INTEGRATION);
      stream.write(JSON.stringify(prelude || {}));
      stream.write(Buffer.alloc(8));
      return stream;
    },
  },
};

function invokeStreaming(handler, event, context, requestId) {
  return new Promise((resolve) => {
    const req = require('http').request({
      host: HOST,
      port: PORT,
      method: 'POST',
      path: `${BASE}/invocation/${requestId}/response`,
      headers: {
        'Lambda-Runtime-Function-Response-Mode': 'streaming',
        'Transfer-Encoding': 'chunked',
        Trailer: 'Lambda-Runtime-Function-Error-Type, Lambda-Runtime-Function-Error-Body',
        'Content-Type': 'application/octet-stream',
      },
    });
    req.setNoDelay(true);
    req.on('response', (res) => {
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', () => resolve());
    req.setContentType = (t) => {
      if (!req.headersSent) req.setHeader('Content-Type', t);
    };
    Promise.resolve()
      .then(() => handler(event, req, context))
      .then(
        () => {
          if (!req.writableEnded) req.end();
        },
        (err) => {
          const doc = errorDocument(err);
          logLine('ERROR', [`Invoke Error \t${JSON.stringify(doc)}`]);
          req.addTrailers({
            'Lambda-Runtime-Function-Error-Type': doc.errorType,
            'Lambda-Runtime-Function-Error-Body': Buffer.from(JSON.stringify(doc)).toString('base64'),
          });
          if (!req.writableEnded) req.end();
        },
      );
  });
}

// --- invoking ---------------------------------------------------------------------------------
function invoke(handler, event, context) {
  return new Promise((resolve) => {
    let finished = false;
    const finish = (result) => {
      if (finished) return;
      finished = true;
      process.removeListener('beforeExit', onEmpty);
      resolve(result);
    };
    // The event loop went empty without an answer: a callback handler that never called back.
    const onEmpty = () => finish({ value: null });
    const callback = (err, value) => {
      const result = err === undefined || err === null ? { value } : { err };
      if (context.callbackWaitsForEmptyEventLoop) {
        process.removeListener('beforeExit', onEmpty);
        process.once('beforeExit', () => finish(result));
      } else {
        finish(result);
      }
    };
    context.done = callback;
    context.succeed = (v) => callback(null, v);
    context.fail = (e) => callback(e === undefined ? new Error('handled') : e);
    process.once('beforeExit', onEmpty);
    let ret;
    try {
      ret = handler(event, context, callback);
    } catch (err) {
      finish({ err });
      return;
    }
    if (ret && typeof ret.then === 'function') {
      ret.then(
        (value) => finish({ value }),
        (err) => finish({ err: err === undefined ? new Error('undefined') : err }),
      );
    }
  });
}

function parseJson(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (_) {
    return undefined;
  }
}

async function main() {
  // Connect before the handler loads: the Runtime API accepts and vets the connection (whose
  // user it is) meanwhile. The first request, /next, still waits for the handler.
  connection();
  let handler;
  try {
    handler = await loadHandler(process.env._HANDLER || '');
  } catch (err) {
    // Lambda's own faults carry their type; an exception thrown while the module ran is
    // reported as is.
    const doc = errorDocument(err);
    await postError(`${BASE}/init/error`, doc, 'Uncaught Exception');
    process.exit(1);
  }

  const fail = (type, err) => {
    const doc = errorDocument(err);
    if (type) doc.errorType = type;
    const inv = currentInvocation;
    const done = () => process.exit(129);
    if (inv && !inv.answered) {
      inv.answered = true;
      postError(`${BASE}/invocation/${inv.requestId}/error`, doc, 'Uncaught Exception').then(done, done);
    } else {
      logLine('ERROR', [`Uncaught Exception \t${JSON.stringify(doc)}`]);
      done();
    }
  };
  process.on('uncaughtException', (err) => fail(null, err));
  process.on('unhandledRejection', (reason) => {
    const err = reason instanceof Error ? reason : new Error(String(reason));
    fail('Runtime.UnhandledPromiseRejection', err);
  });

  for (;;) {
    const next = await request('GET', `${BASE}/invocation/next`);
    if (next.status !== 200) {
      process.stderr.write(`runtime api /next answered ${next.status}, exiting\n`);
      process.exit(1);
    }
    const h = next.headers;
    const requestId = h['lambda-runtime-aws-request-id'];
    currentRequestId = requestId;
    const inv = { requestId, answered: false };
    currentInvocation = inv;
    if (h['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = h['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    const deadline = Number(h['lambda-runtime-deadline-ms'] || 0);
    const cognito = parseJson(h['lambda-runtime-cognito-identity']);
    const context = {
      callbackWaitsForEmptyEventLoop: true,
      functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
      functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
      invokedFunctionArn: h['lambda-runtime-invoked-function-arn'],
      memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
      awsRequestId: requestId,
      logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
      logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
      identity: cognito
        ? { cognitoIdentityId: cognito.cognitoIdentityId, cognitoIdentityPoolId: cognito.cognitoIdentityPoolId }
        : undefined,
      clientContext: parseJson(h['lambda-runtime-client-context']),
      getRemainingTimeInMillis: () => Math.max(deadline - Date.now(), 0),
    };
    const base = `${BASE}/invocation/${requestId}`;
    let event;
    try {
      event = next.body.length ? JSON.parse(next.body.toString('utf8')) : {};
    } catch (e) {
      inv.answered = true;
      await postError(`${base}/error`, { errorType: 'Runtime.UnmarshalError', errorMessage: `Unable to unmarshal input: ${e.message}`, trace: [] }, 'Invoke Error');
      continue;
    }
    if (handler[STREAMING]) {
      inv.answered = true;
      await invokeStreaming(handler, event, context, requestId);
      continue;
    }
    const result = await invoke(handler, event, context);
    if (inv.answered) continue;
    inv.answered = true;
    if (result.err !== undefined) {
      await postError(`${base}/error`, errorDocument(result.err), 'Invoke Error');
      continue;
    }
    let body;
    try {
      body = JSON.stringify(result.value === undefined ? null : result.value);
    } catch (e) {
      await postError(`${base}/error`, { errorType: 'Runtime.MarshalError', errorMessage: `Unable to stringify response body: ${e.message}`, trace: [] }, 'Invoke Error');
      continue;
    }
    const res = await request('POST', `${base}/response`, body, { 'Content-Type': 'application/json' });
    if (res.status === 413) logLine('ERROR', ['Response payload size exceeded the limit (6291556 bytes)']);
  }
}

main().catch((err) => {
  process.stderr.write(`nimbus bootstrap failed: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
