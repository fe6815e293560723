// TypeScript SDK v2 (@modelcontextprotocol/client) over Streamable HTTP.
//   node clients/ts-sdk-v2.mjs URL legacy|auto|<pinned version, e.g. 2026-07-28> [echoText]
// Prints one JSON line: mode, era, protocolVersion, sessionId, serverInfo, tools (names), echo (text blocks),
// echoIsError. Asserts nothing: the C# tests do.
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { report, run, texts } from './report.mjs';

const [url, mode = 'legacy', text = 'hello'] = process.argv.slice(2);
if (!url) throw new Error('usage: ts-sdk-v2.mjs URL legacy|auto|<version> [echoText]');

await run(async () => {
  const versionNegotiation = { mode: mode === 'legacy' || mode === 'auto' ? mode : { pin: mode } };
  const transport = new StreamableHTTPClientTransport(new URL(url));
  const client = new Client({ name: 'switchboard-interop-ts-v2', version: '1.0.0' }, { versionNegotiation });
  await client.connect(transport);
  const era = client.getProtocolEra() ?? null;
  const protocolVersion = client.getNegotiatedProtocolVersion() ?? null;
  const sessionId = transport.sessionId ?? null;
  const { tools } = await client.listTools();
  const result = await client.callTool({ name: 'text_echo', arguments: { text } });
  const serverInfo = client.getServerVersion() ?? null;
  if (sessionId !== null) await transport.terminateSession();
  await client.close();
  report({
    client: '@modelcontextprotocol/client',
    mode,
    era,
    protocolVersion,
    sessionId,
    serverInfo,
    tools: tools.map(t => t.name),
    echo: texts(result),
    echoIsError: result.isError === true,
  });
});
