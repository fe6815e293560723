// TypeScript SDK v1 (@modelcontextprotocol/sdk) WebSocketClientTransport: subprotocol "mcp", one JSON-RPC message per
// text frame, 2025-11-25 initialize lifecycle.
//   node clients/ts-sdk-v1-ws.mjs ws://HOST:PORT/ws [echoText] [concurrentCalls]
// Prints one JSON line: serverInfo, tools, echo (text blocks), and for the concurrent round the echoed
// text of each call in the order the calls were made. Asserts nothing: the C# tests do.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { WebSocketClientTransport } from '@modelcontextprotocol/sdk/client/websocket.js';
import { report, run, texts } from './report.mjs';

const [url, text = 'hello', concurrent = '50'] = process.argv.slice(2);
if (!url) throw new Error('usage: ts-sdk-v1-ws.mjs ws://HOST:PORT/ws [echoText] [concurrentCalls]');

await run(async () => {
  const transport = new WebSocketClientTransport(new URL(url));
  const client = new Client({ name: 'switchboard-interop-ts-v1-ws', version: '1.0.0' });
  await client.connect(transport);
  const { tools } = await client.listTools();
  const result = await client.callTool({ name: 'text_echo', arguments: { text } });

  // All calls are sent before any answer is awaited: they are in flight together on the one connection.
  const calls = Array.from({ length: Number(concurrent) }, (_, i) =>
    client.callTool({ name: 'text_echo', arguments: { text: `call-${i}` } }));
  const answers = await Promise.all(calls);
  await client.close();

  report({
    client: '@modelcontextprotocol/sdk WebSocketClientTransport',
    serverInfo: client.getServerVersion() ?? null,
    tools: tools.map(t => t.name),
    echo: texts(result),
    echoIsError: result.isError === true,
    concurrent: answers.map(a => texts(a).join('')),
    concurrentErrors: answers.filter(a => a.isError === true).length,
  });
});
