using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using ModelContextProtocol;
using ModelContextProtocol.Server;
using Switchboard.Conversations;

namespace Switchboard.Plugins.Samples;

/// <summary>
/// The <c>orders</c> sample plugin: a refund workflow kept in the conversation. <c>find_order</c> looks an order up,
/// <c>request_refund</c> is allowed only once an order was looked up in the same conversation and keeps the amount in
/// state, <c>confirm_refund</c> refunds the amount from state. Results carry the customer's e-mail and phone, the kind of
/// data the masking policy covers. Shares the <c>case.*</c> keys with the <c>support</c> sample.
/// </summary>
[McpServerToolType]
public sealed class OrdersTools(IConversationState state)
{
    public const string PluginName = "orders";
    public const string PluginVersion = "1.0.0";

    /// <summary>The order looked up last (written by this plugin only).</summary>
    public const string OrderKey = "orders.order";

    /// <summary>The refund amount requested (written by this plugin only).</summary>
    public const string RefundKey = "orders.refund";

    /// <summary>The case status, shared with <c>support</c>: exclusive, so a stale write is a conflict.</summary>
    public const string StatusKey = "case.status";

    /// <summary>The case tags, shared with <c>support</c>: a set, so concurrent additions merge.</summary>
    public const string TagsKey = "case.tags";

    /// <summary>The case history, shared with <c>support</c>: an ordered log.</summary>
    public const string LogKey = "case.log";

    private static readonly Dictionary<string, SampleOrder> s_orders = new(StringComparer.OrdinalIgnoreCase)
    {
        ["A-1001"] = new("A-1001", "Ada Lovelace", "ada@example.com", "+44 20 7946 0001", 42.50m, "EUR"),
        ["A-1002"] = new("A-1002", "Grace Hopper", "grace@example.com", "+1 202 555 0142", 129.00m, "USD"),
        ["A-1003"] = new("A-1003", "Alan Turing", "alan@example.com", "+44 161 496 0123", 15.00m, "GBP"),
    };

    /// <summary>The declaration: keys, and the workflow <c>start → order_found → refund_requested → refunded</c>.</summary>
    public static PluginConversation Conversation { get; } = new(
        PluginName,
        [
            new StateKeyDeclaration(OrderKey, StatePolicy.Owner, PluginName),
            new StateKeyDeclaration(RefundKey, StatePolicy.Owner, PluginName),
            new StateKeyDeclaration(StatusKey),
            new StateKeyDeclaration(TagsKey, StatePolicy.Set),
            new StateKeyDeclaration(LogKey, StatePolicy.Append),
        ],
        ConversationWorkflow.Define("start", static (machine, reader) =>
        {
            machine.Configure("start")
                .Permit("find_order", "order_found");
            machine.Configure("order_found")
                .PermitReentry("find_order")
                .PermitIf("request_refund", "refund_requested", () => reader.Read(OrderKey) is not null, "an order was looked up in this conversation");
            machine.Configure("refund_requested")
                .Permit("find_order", "order_found")
                .PermitReentry("request_refund")
                .PermitIf("confirm_refund", "refunded", () => reader.Read(RefundKey) is not null, "a refund amount was requested");
            machine.Configure("refunded")
                .Permit("find_order", "order_found");
        }));

    [McpServerTool(Name = "find_order", Title = "Find an order", ReadOnly = false, Idempotent = true, OpenWorld = false, UseStructuredContent = true)]
    [Description("Looks up an order by id (try A-1001, A-1002 or A-1003) and remembers it in this conversation, so a refund can be requested for it.")]
    public SampleOrder FindOrder([Description("The order id, for example A-1001.")] string orderId)
    {
        if (!s_orders.TryGetValue(orderId, out var order))
        {
            throw new McpException($"There is no order '{orderId}'. Order ids look like A-1001.");
        }

        state.Write(OrderKey, Json(new JsonObject { ["orderId"] = order.OrderId, ["total"] = order.Total, ["currency"] = order.Currency }));
        state.Append(LogKey, Json(JsonValue.Create($"orders: looked up {order.OrderId}")));
        return order;
    }

    [McpServerTool(Name = "request_refund", Title = "Request a refund", ReadOnly = false, Idempotent = false, OpenWorld = false)]
    [Description("Requests a refund of the given amount for the order looked up in this conversation (find_order first). Confirm it with confirm_refund.")]
    public string RequestRefund([Description("The amount to refund, at most the order total.")] decimal amount)
    {
        var order = ReadOrder();
        if (amount <= 0 || amount > order.Total)
        {
            throw new McpException($"The refund amount must be more than 0 and at most the order total, {Money(order.Total, order.Currency)}.");
        }

        state.Write(RefundKey, Json(new JsonObject { ["orderId"] = order.OrderId, ["amount"] = amount, ["currency"] = order.Currency }));
        state.Write(StatusKey, Json(JsonValue.Create("refund_requested")));
        state.Add(TagsKey, Json(JsonValue.Create("refund")));
        state.Append(LogKey, Json(JsonValue.Create($"orders: refund of {Money(amount, order.Currency)} requested on {order.OrderId}")));
        return $"Refund of {Money(amount, order.Currency)} on order {order.OrderId} requested. Call confirm_refund to carry it out.";
    }

    [McpServerTool(Name = "confirm_refund", Title = "Confirm the refund", ReadOnly = false, Idempotent = false, OpenWorld = false)]
    [Description("Carries out the refund requested in this conversation (request_refund first); the amount comes from the conversation.")]
    public string ConfirmRefund()
    {
        var refund = state.Read(RefundKey) ?? throw new McpException("No refund was requested in this conversation. Call request_refund first.");
        var orderId = refund.Value.GetProperty("orderId").GetString();
        var amount = refund.Value.GetProperty("amount").GetDecimal();
        var currency = refund.Value.GetProperty("currency").GetString() ?? string.Empty;
        state.Write(StatusKey, Json(JsonValue.Create("refunded")));
        state.Append(LogKey, Json(JsonValue.Create($"orders: refunded {Money(amount, currency)} on {orderId}")));
        return $"Refunded {Money(amount, currency)} on order {orderId}.";
    }

    private (string OrderId, decimal Total, string Currency) ReadOrder()
    {
        var order = state.Read(OrderKey) ?? throw new McpException("No order was looked up in this conversation. Call find_order first.");
        return (order.Value.GetProperty("orderId").GetString()!, order.Value.GetProperty("total").GetDecimal(), order.Value.GetProperty("currency").GetString()!);
    }

    private static string Money(decimal amount, string currency) => amount.ToString("0.00", CultureInfo.InvariantCulture) + " " + currency;

    internal static JsonElement Json(JsonNode? node) => JsonSerializer.SerializeToElement(node, Serialization.SwitchboardJson.ToolOptions.GetTypeInfo(typeof(JsonNode)));
}

/// <summary>An order of the <c>orders</c> sample, with the customer's contact details.</summary>
public sealed record SampleOrder(string OrderId, string CustomerName, string CustomerEmail, string CustomerPhone, decimal Total, string Currency);
