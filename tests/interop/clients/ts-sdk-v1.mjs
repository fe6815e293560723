// TypeScript SDK v1 (@modelcontextprotocol/sdk, 2025-11-25 at most) over Streamable HTTP.
//   node clients/ts-sdk-v1.mjs URL [echoText]
// Prints one JSON line: protocolVersion, sessionId, serverInfo, tools (names), echo (the call result's text blocks),
// echoIsError. Asserts nothing: the C# tests do.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { report, run, texts } from './report.mjs';

const [url, text = 'hello'] = process.argv.slice(2);
if (!url) throw new Error('usage: ts-sdk-v1.mjs URL [echoText]');

await run(async () => {
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'switchboard-interop-ts-v1', version: '1.0.0' });
  await client.connect(transport);
  const protocolVersion = transport.protocolVersion ?? null;
  const sessionId = transport.sessionId ?? null;
  const { tools } = await client.listTools();
  const result = await client.callTool({ name: 'text_echo', arguments: { text } });
  // A well-behaved 2025-11-25 client ends its session with DELETE (the SDK accepts 405; other errors throw).
  if (sessionId !== null) await transport.terminateSession();
  await client.close();
  report({
    client: '@modelcontextprotocol/sdk',
    protocolVersion,
    sessionId,
    serverInfo: client.getServerVersion() ?? null,
    tools: tools.map(t => t.name),
    echo: texts(result),
    echoIsError: result.isError === true,
  });
});
