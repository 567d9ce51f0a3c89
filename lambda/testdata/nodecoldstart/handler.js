// The Node.js counterpart of the function's start of a render: an API
// Gateway HTTP API event in, Remotion's own client starting the render.
// @remotion/lambda-client is found through NODE_PATH, from the directory it
// was installed in outside the module tree.
'use strict';

const { renderMediaOnLambda } = require('@remotion/lambda-client');

exports.handler = async (event) => {
  const req = JSON.parse(event.body || '{}');
  try {
    const { renderId, bucketName } = await renderMediaOnLambda({
      region: process.env.REMOTION_REGION,
      functionName: process.env.REMOTION_FUNCTION_NAME,
      serveUrl: process.env.REMOTION_SERVE_URL,
      composition: req.composition,
      inputProps: req.inputProps ?? {},
      codec: req.codec ?? 'h264',
    });
    return { statusCode: 202, body: JSON.stringify({ renderId, bucketName }) };
  } catch (err) {
    return { statusCode: 502, body: JSON.stringify({ error: { code: 'render_failed', message: err.message } }) };
  }
};
