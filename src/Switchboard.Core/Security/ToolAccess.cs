using System.Security.Claims;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Pipeline;
using Switchboard.Plugins;

namespace Switchboard.Security;

/// <summary>
/// Who the caller is and what it may do, for the pipeline and for the HTTP-level scope challenge, so both decide the
/// same way. Tenants: a plugin limited to some tenants (<c>Switchboard:Plugins:&lt;plugin&gt;:Tenants</c>) does not exist
/// for anyone else: its tools are not listed, and calling one answers "unknown tool", leaking nothing.
/// </summary>
public sealed class ToolAccess(PolicyProvider policies, IOptions<SecurityOptions> security, IOptions<SwitchboardOptions> switchboard)
{
    private readonly Lazy<ClaimsPrincipal> _local = new(() => LocalPrincipal(security.Value.StdioPrincipal));

    public bool IsEnforced => security.Value.RequireAuthentication;

    /// <summary>The caller: the authenticated user, or the configured local principal on stdio; null means refuse.</summary>
    public ClaimsPrincipal? Caller(ClaimsPrincipal? user, GatewayTransport transport)
    {
        if (user?.Identity?.IsAuthenticated == true)
        {
            return user;
        }

        return transport == GatewayTransport.Stdio ? _local.Value : null;
    }

    public CallerPermissions Permissions(ClaimsPrincipal caller) => CallerPermissions.For(caller, policies.Current);

    /// <summary>True when the tool's plugin is open to the caller's tenant.</summary>
    public bool TenantMaySee(CatalogTool tool, string? tenant)
    {
        if (!switchboard.Value.Plugins.TryGetValue(tool.Plugin.Name, out var settings) || settings.Tenants.Count == 0)
        {
            return true;
        }

        return tenant is not null && settings.Tenants.Contains(tenant, StringComparer.Ordinal);
    }

    private static ClaimsPrincipal LocalPrincipal(LocalPrincipalOptions local)
    {
        var claims = new List<Claim>
        {
            new(SwitchboardClaims.Subject, local.Subject),
            new(SwitchboardClaims.ClientId, "stdio"),
            new(SwitchboardClaims.Scope, local.Scopes),
        };
        if (local.Tenant is not null)
        {
            claims.Add(new Claim(SwitchboardClaims.Tenant, local.Tenant));
        }

        claims.AddRange(local.Roles.Select(r => new Claim(SwitchboardClaims.Role, r)));
        return new ClaimsPrincipal(new ClaimsIdentity(claims, "Local", SwitchboardClaims.Subject, SwitchboardClaims.Role));
    }
}

/// <summary>
/// Pipeline stage: one policy decides both what a caller sees in <c>tools/list</c> and what it may call. A call without a
/// covering grant is refused with a JSON-RPC error naming the scope needed; a call covered only by grants whose argument
/// rules fail gets an <c>isError</c> result naming the rule, so the model can adjust the call.
/// </summary>
internal sealed class AuthorizationStage(ToolAccess access) : GatewayStage
{
    public override string Name => "authorize";

    public override int Order => StageOrder.Authorization;

    public override async ValueTask<ToolListOutcome> InvokeListAsync(ToolListContext context, ToolListHandler continuation, CancellationToken cancellationToken)
    {
        if (!access.IsEnforced)
        {
            return await continuation(context, cancellationToken);
        }

        var caller = access.Caller(context.User, context.Transport);
        if (caller is null)
        {
            return ToolListOutcome.FromError(GatewayError.Unauthenticated());
        }

        var outcome = await continuation(context, cancellationToken);
        if (outcome.IsError)
        {
            return outcome;
        }

        var permissions = access.Permissions(caller);
        var visible = new List<CatalogTool>(outcome.Tools.Count);
        foreach (var tool in outcome.Tools)
        {
            if (access.TenantMaySee(tool, permissions.Tenant) && permissions.CanSee(tool))
            {
                visible.Add(tool);
            }
        }

        return ToolListOutcome.FromTools(visible);
    }

    public override ValueTask<ToolCallOutcome> InvokeCallAsync(ToolCallContext context, ToolCallHandler continuation, CancellationToken cancellationToken)
    {
        if (!access.IsEnforced)
        {
            return continuation(context, cancellationToken);
        }

        var caller = access.Caller(context.User, context.Transport);
        if (caller is null)
        {
            context.OutcomeKind = ToolCallOutcomeKind.Denied;
            return ValueTask.FromResult(ToolCallOutcome.FromError(GatewayError.Unauthenticated()));
        }

        var tool = context.Tool!;
        var permissions = access.Permissions(caller);
        if (!access.TenantMaySee(tool, permissions.Tenant))
        {
            context.OutcomeKind = ToolCallOutcomeKind.ProtocolError;
            return ValueTask.FromResult(ToolCallOutcome.FromError(GatewayError.UnknownTool(context.RequestedName)));
        }

        var decision = permissions.Decide(tool, context.Arguments);
        if (decision.Allowed)
        {
            return continuation(context, cancellationToken);
        }

        context.OutcomeKind = ToolCallOutcomeKind.Denied;
        if (decision.RequiredScope is { } scope)
        {
            return ValueTask.FromResult(ToolCallOutcome.FromError(GatewayError.Forbidden(scope)));
        }

        return ValueTask.FromResult<ToolCallOutcome>(ToolCallOutcome.ToolErrorResult(
            $"Refused by policy: the rule '{decision.FailedRule}' of {decision.FailedGrant} does not hold for these arguments of '{tool.Name}'. " +
            "Change the arguments to satisfy it, or ask for a grant that covers this call."));
    }
}
