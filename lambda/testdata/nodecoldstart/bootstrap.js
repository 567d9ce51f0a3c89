// A Lambda custom runtime in Node.js, for BenchmarkColdStartNode: it loads
// the handler (argv[2]) at start-up, as Lambda's Node.js runtime does, then
// serves the Runtime API's invocations with Node's built-in fetch.
'use strict';

const { handler } = require(process.argv[2]);
const api = `http://${process.env.AWS_LAMBDA_RUNTIME_API}/2018-06-01/runtime/invocation`;

async function loop() {
  for (;;) {
    const next = await fetch(`${api}/next`);
    const id = next.headers.get('lambda-runtime-aws-request-id');
    const event = await next.json();
    let path = 'response';
    let result;
    try {
      result = await handler(event);
    } catch (err) {
      path = 'error';
      result = { errorType: err.name, errorMessage: err.message };
    }
    await fetch(`${api}/${id}/${path}`, { method: 'POST', body: JSON.stringify(result) });
  }
}

loop().catch((err) => {
  console.error(err);
  process.exit(1);
});
