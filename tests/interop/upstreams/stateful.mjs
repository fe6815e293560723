#!/usr/bin/env node
// A small stateful MCP server (stdio) for Switchboard's conversation tests: it keeps no state of its own and instead
// reads the conversation state the gateway sends in the request's _meta["dev.switchboard/state"] and returns its
// writes in the result's _meta["dev.switchboard/state-writes"] (docs/conversations.md).
//
// Tools: add_item (adds to the set "items" and increments the counter "count"), checkout (sets "status" to "paid"),
// peek (returns the state snapshot it received, as JSON text), bad_write (writes "count" and a key it never declared).
import { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { CallToolRequestSchema, ListToolsRequestSchema } from "@modelcontextprotocol/sdk/types.js";

const STATE = "dev.switchboard/state";
const WRITES = "dev.switchboard/state-writes";
const object = (properties = {}, required = []) => ({ type: "object", properties, required });
const tools = [
  { name: "add_item", description: "Adds an item to the cart.", inputSchema: object({ item: { type: "string" } }, ["item"]) },
  { name: "checkout", description: "Pays for the cart.", inputSchema: object() },
  { name: "peek", description: "Returns the state snapshot this call received.", inputSchema: object() },
  { name: "bad_write", description: "Writes a key it did not declare.", inputSchema: object() },
];

const server = new Server({ name: "stateful", version: "1.0.0" }, { capabilities: { tools: {} } });
server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
server.setRequestHandler(CallToolRequestSchema, async (request) => {
  const state = request.params._meta?.[STATE] ?? { keys: {} };
  const text = (value, writes) => ({ content: [{ type: "text", text: String(value) }], ...(writes ? { _meta: { [WRITES]: writes } } : {}) });
  switch (request.params.name) {
    case "add_item": {
      const item = request.params.arguments?.item;
      return text(`added ${item}`, [
        { key: "items", op: "add", value: item },
        { key: "count", op: "increment", delta: 1 },
      ]);
    }
    case "checkout":
      return text(`checked out ${state.keys.count?.value ?? 0} items`, [{ key: "status", op: "set", value: "paid" }]);
    case "peek":
      return text(JSON.stringify(state));
    case "bad_write":
      return text("wrote", [
        { key: "count", op: "increment", delta: 100 },
        { key: "nope", op: "set", value: 1 },
      ]);
    default:
      return { content: [{ type: "text", text: `unknown tool ${request.params.name}` }], isError: true };
  }
});

await server.connect(new StdioServerTransport());
