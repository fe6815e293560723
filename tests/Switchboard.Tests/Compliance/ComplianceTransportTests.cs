using System.Collections.Concurrent;
using System.ComponentModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Server;
using Switchboard.Compliance.Audit;
using Switchboard.Hosting;
using Switchboard.Tests.TestSupport;
using Switchboard.Tests.Transports.Rest;

namespace Switchboard.Tests.Compliance;

/// <summary>A plugin that echoes its text and records what it received, registered under one name per policy.</summary>
[McpServerToolType]
public sealed class ComplianceProbeTools(ComplianceProbeState state)
{
    [McpServerTool(Name = "echo"), Description("Returns the text.")]
    public static string Echo(string text) => text;

    [McpServerTool(Name = "receive"), Description("Records the text it received; returns 'received'.")]
    public string Receive(string text)
    {
        state.Received.Enqueue(text);
        return "received";
    }
}

/// <summary>What <see cref="ComplianceProbeTools"/> received.</summary>
public sealed class ComplianceProbeState
{
    public ConcurrentQueue<string> Received { get; } = new();

    public string? ReceivedWith(string tag) => Received.FirstOrDefault(r => r.StartsWith(tag, StringComparison.Ordinal));
}

public enum Wire
{
    Http,
    WebSocket,
    Rest,
}

/// <summary>
/// One server whose plugins each carry one policy: results masked, redacted, hashed, tokenized or blocked; arguments
/// masked, redacted, hashed or blocked. Conversations are the real feature's: handles from <c>conversation_open</c>,
/// carried in <c>_meta</c> (MCP) or the <c>Switchboard-Conversation</c> header (REST) and verified by its identity stage.
/// </summary>
public sealed class ComplianceServerFixture : IAsyncLifetime
{
    public static readonly string[] ResultPolicies = ["mask", "redact", "hash", "tokenize", "block", "allow"];
    public static readonly string[] ArgumentPolicies = ["mask", "redact", "hash", "block"];

    public SwitchboardTestServer Server { get; private set; } = null!;

    public HttpClient Http { get; private set; } = null!;

    public ComplianceProbeState State { get; } = new();

    public async ValueTask InitializeAsync()
    {
        var configuration = new Dictionary<string, string?>();
        foreach (var policy in ResultPolicies)
        {
            configuration[$"Switchboard:Compliance:Plugins:r{policy}:Results:EMAIL"] = policy;
        }

        foreach (var policy in ArgumentPolicies)
        {
            configuration[$"Switchboard:Compliance:Plugins:a{policy}:Arguments:EMAIL"] = policy;
            configuration[$"Switchboard:Compliance:Plugins:a{policy}:Results:EMAIL"] = "allow";
        }

        Server = await SwitchboardTestServer.StartAsync(
            configure: b =>
            {
                b.Services.AddSingleton(State);
                foreach (var policy in ResultPolicies)
                {
                    b.AddPlugin<ComplianceProbeTools>("r" + policy, "1.0.0");
                }

                foreach (var policy in ArgumentPolicies)
                {
                    b.AddPlugin<ComplianceProbeTools>("a" + policy, "1.0.0");
                }
            },
            configuration: configuration,
            cancellationToken: TestContext.Current.CancellationToken);
        Http = Server.CreateHttpClient();
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Server.DisposeAsync();
    }

    /// <summary>Opens a conversation with the built-in <c>conversation_open</c>; returns its handle and its id.</summary>
    public async Task<(string Handle, string Id)> OpenConversationAsync()
    {
        var token = TestContext.Current.CancellationToken;
        var response = await McpHttp.SendAsync(Http, McpHttp.ModernRequest(Server.McpUri, "tools/call", new JsonObject { ["name"] = "conversation_open", ["arguments"] = new JsonObject(), ["_meta"] = McpHttp.ModernMeta() }), token);
        var handle = response.Result["structuredContent"]!["conversation_handle"]!.GetValue<string>();
        var payload = handle.Split('.')[1];
        var id = JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(payload))!["cid"]!.GetValue<string>();
        return (handle, id);
    }

    /// <summary>Calls a tool over the given wire, in a conversation when a handle is given; returns the MCP result object.</summary>
    public async Task<JsonObject> CallAsync(Wire wire, string tool, string text, string? conversation)
    {
        var token = TestContext.Current.CancellationToken;
        var arguments = new JsonObject { ["text"] = text };
        switch (wire)
        {
            case Wire.Http:
            {
                var meta = McpHttp.ModernMeta();
                if (conversation is not null)
                {
                    meta[Switchboard.Conversations.ConversationProtocol.HandleMetaKey] = conversation;
                }

                var response = await McpHttp.SendAsync(Http, McpHttp.ModernRequest(Server.McpUri, "tools/call", new JsonObject { ["name"] = tool, ["arguments"] = arguments, ["_meta"] = meta }), token);
                return response.Result;
            }

            case Wire.WebSocket:
            {
                var meta = McpHttp.ModernMeta();
                if (conversation is not null)
                {
                    meta[Switchboard.Conversations.ConversationProtocol.HandleMetaKey] = conversation;
                }

                await using var socket = await McpWebSocket.ConnectAsync(Server.BaseUri, token);
                await socket.SendAsync(McpWebSocket.Call(1, tool, arguments, meta), token);
                var (response, _) = await socket.ReceiveResponseAsync(1, token);
                return Assert.IsType<JsonObject>(response["result"]);
            }

            default:
            {
                var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"/v1/tools/{tool}/call", UriKind.Relative))
                {
                    Content = new StringContent(arguments.ToJsonString(), Encoding.UTF8, "application/json"),
                };
                if (conversation is not null)
                {
                    request.Headers.Add("Switchboard-Conversation", conversation);
                }

                var response = await RestHttp.SendAsync(Http, request);
                Assert.Equal(HttpStatusCode.OK, response.Status);
                return response.Body;
            }
        }
    }
}

/// <summary>
/// Each masking action in both directions over Streamable HTTP, WebSocket and REST; tokenize round trips and
/// cross-conversation isolation; block; the audit record id on every result and its inclusion proof.
/// </summary>
public sealed class ComplianceTransportTests(ComplianceServerFixture fixture) : IClassFixture<ComplianceServerFixture>
{
    private const string Email = "alice@example.com";

    public static TheoryData<Wire, string, string> ResultCases()
    {
        var data = new TheoryData<Wire, string, string>();
        foreach (var wire in Enum.GetValues<Wire>())
        {
            data.Add(wire, "mask", "^note a\\*\\*\\*@example\\.com$");
            data.Add(wire, "redact", "^note \\[EMAIL\\]$");
            data.Add(wire, "hash", "^note \\[EMAIL:[0-9a-f]{16}\\]$");
            data.Add(wire, "allow", "^note alice@example\\.com$");
        }

        return data;
    }

    public static TheoryData<Wire, string, string> ArgumentCases()
    {
        var data = new TheoryData<Wire, string, string>();
        foreach (var wire in Enum.GetValues<Wire>())
        {
            data.Add(wire, "mask", " a\\*\\*\\*@example\\.com$");
            data.Add(wire, "redact", " \\[EMAIL\\]$");
            data.Add(wire, "hash", " \\[EMAIL:[0-9a-f]{16}\\]$");
        }

        return data;
    }

    public static TheoryData<Wire> Wires() => new(Enum.GetValues<Wire>());

    private static string Text(JsonObject result) => result["content"]![0]!["text"]!.GetValue<string>();

    private static long AuditId(JsonObject result) => result["_meta"]![AuditStage.MetaKey]!.GetValue<long>();

    [Theory]
    [MemberData(nameof(ResultCases))]
    public async Task ResultPolicy_IsAppliedBeforeTheCallerSeesTheResult(Wire wire, string policy, string expected)
    {
        var result = await fixture.CallAsync(wire, $"r{policy}_echo", $"note {Email}", conversation: null);

        Assert.Matches(expected, Text(result));
        Assert.True(AuditId(result) >= 0);
    }

    [Theory]
    [MemberData(nameof(ArgumentCases))]
    public async Task ArgumentPolicy_IsAppliedBeforeThePluginRuns(Wire wire, string policy, string expected)
    {
        var tag = $"{wire}-{policy}-{Guid.NewGuid():n}";

        var result = await fixture.CallAsync(wire, $"a{policy}_receive", $"{tag} {Email}", conversation: null);

        Assert.Equal("received", Text(result));
        var received = fixture.State.ReceivedWith(tag);
        Assert.NotNull(received);
        Assert.Matches(expected, received);
        Assert.DoesNotContain(Email, received, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task Tokenize_RoundTripsWithinAConversation_AndIsIsolatedAcrossConversations(Wire wire)
    {
        var (conversation, _) = await fixture.OpenConversationAsync();
        var (other, _) = await fixture.OpenConversationAsync();
        var value = $"{wire.ToString().ToLowerInvariant()}.{Guid.NewGuid():n}@example.com";

        // Claude sees a token, never the address.
        var first = Text(await fixture.CallAsync(wire, "rtokenize_echo", $"write to {value}", conversation));
        Assert.Equal("write to «EMAIL_1»", first);

        // Sending the token back in the same conversation: the plugin receives the original.
        var tag = "same-" + Guid.NewGuid().ToString("n");
        await fixture.CallAsync(wire, "rtokenize_receive", $"{tag} «EMAIL_1»", conversation);
        Assert.Equal($"{tag} {value}", fixture.State.ReceivedWith(tag));

        // Another conversation's token never resolves; neither does one sent without a conversation.
        var otherTag = "other-" + Guid.NewGuid().ToString("n");
        await fixture.CallAsync(wire, "rtokenize_receive", $"{otherTag} «EMAIL_1»", other);
        Assert.Equal($"{otherTag} «EMAIL_1»", fixture.State.ReceivedWith(otherTag));
        var noneTag = "none-" + Guid.NewGuid().ToString("n");
        await fixture.CallAsync(wire, "rtokenize_receive", $"{noneTag} «EMAIL_1»", null);
        Assert.Equal($"{noneTag} «EMAIL_1»", fixture.State.ReceivedWith(noneTag));

        // Without a conversation, tokenize falls back to redact. A WebSocket connection always has one (implicit, per
        // connection), so there the value is tokenized in that connection's own conversation.
        var expected = wire == Wire.WebSocket ? "write to «EMAIL_1»" : "write to [EMAIL]";
        Assert.Equal(expected, Text(await fixture.CallAsync(wire, "rtokenize_echo", $"write to {value}", null)));
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task BlockedArguments_RefuseTheCall_NamingTheDataClassButNotTheValue(Wire wire)
    {
        var tag = "block-" + Guid.NewGuid().ToString("n");

        var result = await fixture.CallAsync(wire, "ablock_receive", $"{tag} {Email}", null);

        Assert.True(result["isError"]!.GetValue<bool>());
        var text = Text(result);
        Assert.Contains("confidential", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Email, result.ToJsonString(), StringComparison.Ordinal);
        Assert.Null(fixture.State.ReceivedWith(tag));
    }

    [Theory]
    [MemberData(nameof(Wires))]
    public async Task BlockedResult_IsWithheld_NamingTheDataClassButNotTheValue(Wire wire)
    {
        var result = await fixture.CallAsync(wire, "rblock_echo", $"note {Email}", null);

        Assert.True(result["isError"]!.GetValue<bool>());
        Assert.Contains("confidential", Text(result), StringComparison.Ordinal);
        Assert.DoesNotContain(Email, result.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuditRecordOfACall_HoldsDecisionsAndCounts_ButNoRawValue_AndItsInclusionProofVerifies()
    {
        var (handle, conversationId) = await fixture.OpenConversationAsync();
        var result = await fixture.CallAsync(Wire.Http, "rmask_echo", $"note {Email} and 13800138000", handle);
        var id = AuditId(result);

        var proof = JsonNode.Parse(await fixture.Http.GetStringAsync(new Uri($"/audit/proof/{id}", UriKind.Relative), TestContext.Current.CancellationToken))!;
        var recordText = proof["record"]!.GetValue<string>();
        var record = JsonNode.Parse(recordText)!;

        Assert.Equal(id, record["seq"]!.GetValue<long>());
        Assert.Equal("call.outcome", record["kind"]!.GetValue<string>());
        Assert.Equal("rmask_echo", record["tool"]!.GetValue<string>());
        Assert.Equal(conversationId, record["conversation"]!.GetValue<string>());
        Assert.Equal("success", record["outcome"]!.GetValue<string>());
        Assert.DoesNotContain(Email, recordText, StringComparison.Ordinal);
        Assert.DoesNotContain("13800138000", recordText, StringComparison.Ordinal);
        Assert.Contains("confidential", record["result"]!.ToJsonString(), StringComparison.Ordinal);

        // The proof: the leaf hash is the RFC 6962 hash of the record's bytes, and the path leads to the signed root.
        var leaf = Switchboard.Compliance.Audit.MerkleTree.LeafHash(Encoding.UTF8.GetBytes(recordText));
        Assert.Equal(Convert.ToHexStringLower(leaf), proof["leafHash"]!.GetValue<string>());
        var path = proof["inclusionProof"]!.AsArray().Select(h => Convert.FromHexString(h!.GetValue<string>())).ToList();
        var root = Convert.FromHexString(proof["rootHash"]!.GetValue<string>());
        Assert.True(Switchboard.Compliance.Audit.MerkleTree.VerifyInclusion(leaf, id, proof["treeSize"]!.GetValue<long>(), path, root));
        Assert.False(Switchboard.Compliance.Audit.MerkleTree.VerifyInclusion(Switchboard.Compliance.Audit.MerkleTree.LeafHash([1]), id, proof["treeSize"]!.GetValue<long>(), path, root));

        // The checkpoint's signature covers that root.
        var checkpointJws = proof["checkpoint"]!["jws"]!.GetValue<string>();
        var payload = JsonNode.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(checkpointJws.Split('.')[1]))!;
        Assert.Equal(proof["treeSize"]!.GetValue<long>(), payload["treeSize"]!.GetValue<long>());
    }

    [Fact]
    public async Task ProofOfAnUnknownRecord_Is404()
    {
        using var response = await fixture.Http.GetAsync(new Uri("/audit/proof/999999999", UriKind.Relative), TestContext.Current.CancellationToken);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}
