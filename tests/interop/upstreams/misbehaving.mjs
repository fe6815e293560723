#!/usr/bin/env node
// A deliberately misbehaving MCP server (stdio) for Switchboard's upstream isolation tests. It uses the official
// TypeScript SDK (@modelcontextprotocol/sdk, pinned in ../package.json) at its low level, so the tool list is plain
// JSON Schema and can change at run time.
//
// Environment:
//   MISBEHAVE_MODE        normal (default) | exit-at-start (exits with code 3 before speaking)
//                         | garbage-at-start (writes garbage to stdout and never answers) | hang-at-start (never answers)
//   MISBEHAVE_LOG         a file; one line per event: "start <pid>", "call <tool>", "cancelled <tool>", "exit <pid>"
//   MISBEHAVE_KEEP_ALIVE  1: keep running after standard input closes (the gateway must kill it)
//   MISBEHAVE_EXTRA_TOOLS comma-separated names of extra tools, each answering with its own name
//
// Tools: echo, pid, env, fail (isError result), rpc_error (JSON-RPC error -32602), crash (exits with code 17 mid-call), hang (never answers; notices
// cancellation), garbage (writes garbage to stdout, never answers), slow (answers after `ms`, with progress),
// add_tool (adds a tool and sends notifications/tools/list_changed).
import { appendFileSync } from "node:fs";

const mode = process.env.MISBEHAVE_MODE ?? "normal";
const logFile = process.env.MISBEHAVE_LOG;
const record = (line) => {
  if (logFile) appendFileSync(logFile, `${line}\n`);
};

// Recorded before the SDK loads: on a busy machine loading it can outlast a short start timeout, and tests count starts.
record(`start ${process.pid}`);
process.on("exit", () => record(`exit ${process.pid}`));

const { Server } = await import("@modelcontextprotocol/sdk/server/index.js");
const { StdioServerTransport } = await import("@modelcontextprotocol/sdk/server/stdio.js");
const { CallToolRequestSchema, ErrorCode, ListToolsRequestSchema, McpError } = await import("@modelcontextprotocol/sdk/types.js");

if (process.env.MISBEHAVE_KEEP_ALIVE === "1") {
  setInterval(() => {}, 60_000);
}

if (mode === "exit-at-start") {
  process.stderr.write("misbehaving: exiting at start, as asked\n");
  process.exit(3);
} else if (mode === "garbage-at-start") {
  setInterval(() => process.stdout.write("this is not JSON-RPC\n"), 20);
} else if (mode === "hang-at-start") {
  setInterval(() => {}, 60_000);
} else {
  await serve();
}

async function serve() {
  const text = (value) => ({ content: [{ type: "text", text: String(value) }] });
  const object = (properties = {}, required = []) => ({ type: "object", properties, required });
  const tools = [
    { name: "echo", description: "Returns its text.", inputSchema: object({ text: { type: "string" } }, ["text"]) },
    { name: "pid", description: "Returns the process id.", inputSchema: object() },
    { name: "env", description: "Returns an environment variable, or (unset).", inputSchema: object({ name: { type: "string" } }, ["name"]) },
    { name: "fail", description: "Returns an isError result.", inputSchema: object() },
    { name: "rpc_error", description: "Answers with a JSON-RPC error.", inputSchema: object() },
    { name: "crash", description: "Exits with code 17 in the middle of the call.", inputSchema: object() },
    { name: "hang", description: "Never answers.", inputSchema: object() },
    { name: "garbage", description: "Writes garbage to stdout and never answers.", inputSchema: object() },
    { name: "slow", description: "Answers after ms milliseconds, reporting progress.", inputSchema: object({ ms: { type: "number" } }, ["ms"]) },
    { name: "add_tool", description: "Adds a tool and announces the change.", inputSchema: object() },
  ];
  for (const extraName of (process.env.MISBEHAVE_EXTRA_TOOLS ?? "").split(",").filter((n) => n.length > 0)) {
    tools.push({ name: extraName, description: "An extra tool.", inputSchema: object() });
  }
  let added = 0;

  const server = new Server({ name: "misbehaving", version: "1.0.0" }, { capabilities: { tools: { listChanged: true } } });
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const args = request.params.arguments ?? {};
    record(`call ${name}`);
    const untilCancelled = () =>
      new Promise((resolve) => {
        extra.signal.addEventListener("abort", () => {
          record(`cancelled ${name}`);
          resolve(text("cancelled"));
        });
      });

    switch (name) {
      case "echo":
        return text(args.text);
      case "pid":
        return text(process.pid);
      case "env":
        return text(process.env[args.name] ?? "(unset)");
      case "fail":
        return { isError: true, content: [{ type: "text", text: "failed on purpose" }] };
      case "rpc_error":
        throw new McpError(ErrorCode.InvalidParams, "rejected on purpose");
      case "crash":
        process.stderr.write("misbehaving: crashing mid-call, as asked\n");
        process.exit(17);
        return text("unreachable");
      case "hang":
        return untilCancelled();
      case "garbage":
        process.stdout.write("this is not JSON\n{\"jsonrpc\": \"2.0\", broken\n\u0000\u0001\u0002\n");
        return untilCancelled();
      case "slow": {
        const ms = Number(args.ms ?? 100);
        const token = request.params._meta?.progressToken;
        for (let step = 1; step <= 4; step++) {
          await new Promise((resolve) => setTimeout(resolve, ms / 4));
          if (token !== undefined) {
            await extra.sendNotification({ method: "notifications/progress", params: { progressToken: token, progress: step, total: 4 } });
          }
        }
        return text(`done after ${ms} ms`);
      }
      case "add_tool": {
        added += 1;
        tools.push({ name: `added_${added}`, description: "Added at run time.", inputSchema: object() });
        await server.sendToolListChanged();
        return text(`added_${added}`);
      }
      default:
        if (tools.some((tool) => tool.name === name)) return text(name);
        return { isError: true, content: [{ type: "text", text: `unknown tool ${name}` }] };
    }
  });

  await server.connect(new StdioServerTransport());
}
