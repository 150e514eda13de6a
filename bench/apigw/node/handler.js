// The handler both servers run: a payload-2.0 HTTP API event in, a small JSON answer out.
exports.handler = async (event) => ({
  statusCode: 200,
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ ok: true, path: event.rawPath }),
});
