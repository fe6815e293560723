// TypeScript SDK v1 (@modelcontextprotocol/sdk, 2025-11-25 at most) over stdio: starts the server as a child process,
// as Claude Desktop and Claude Code do, with this process's environment.
//   node clients/ts-sdk-v1-stdio.mjs ECHO_TEXT COMMAND [ARGS...]
// Prints one JSON line: protocolVersion, serverInfo, tools (names), echo (the call result's text blocks), echoIsError,
// errors (transport and protocol errors the client saw, such as a stdout line that is not JSON-RPC), serverStderr, and
// serverExitCode (after the client closed the server's standard input). Asserts nothing: the C# tests do.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { report, run, texts } from './report.mjs';

const [text, command, ...args] = process.argv.slice(2);
if (!command) throw new Error('usage: ts-sdk-v1-stdio.mjs ECHO_TEXT COMMAND [ARGS...]');

await run(async () => {
  const transport = new StdioClientTransport({ command, args, env: { ...process.env }, stderr: 'pipe' });
  let serverStderr = '';
  transport.stderr.on('data', chunk => { serverStderr += chunk.toString('utf8'); });

  // The v1 client tells an HTTP transport the negotiated version through this hook; stdio has none, so add one.
  let protocolVersion = null;
  transport.setProtocolVersion = version => { protocolVersion = version; };

  const client = new Client({ name: 'switchboard-interop-ts-v1-stdio', version: '1.0.0' });
  const errors = [];
  client.onerror = error => errors.push(String(error?.message ?? error));
  await client.connect(transport);
  const child = transport._process; // private, read only to learn how the server ended
  const { tools } = await client.listTools();
  const result = await client.callTool({ name: 'text_echo', arguments: { text } });

  // close() ends the server's standard input and waits up to 2 s for it to exit before sending SIGTERM.
  const exited = child ? new Promise(resolve => child.once('exit', (code, signal) => resolve({ code, signal }))) : null;
  await client.close();
  const exit = exited ? await exited : { code: null, signal: null };
  report({
    client: '@modelcontextprotocol/sdk',
    transport: 'stdio',
    protocolVersion,
    serverInfo: client.getServerVersion() ?? null,
    tools: tools.map(t => t.name),
    echo: texts(result),
    echoIsError: result.isError === true,
    errors,
    serverStderr,
    serverExitCode: exit.code,
    serverExitSignal: exit.signal,
  });
});
