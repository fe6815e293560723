using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Switchboard.Hosting;
using Switchboard.Pipeline;

namespace Switchboard.Security;

public static class SecurityServiceCollectionExtensions
{
    /// <summary>
    /// Registers authentication and authorization: options (<c>Switchboard:Security</c>), the signing-key ring with
    /// its rotation, the token issuer and validator, external issuers' keys, OAuth clients, the policy and the
    /// authorization stage. Called by <c>AddSwitchboard</c>; every transport and the CLI share it.
    /// </summary>
    public static ISwitchboardBuilder AddSecurity(this ISwitchboardBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        var services = builder.Services;
        services.AddOptions<SecurityOptions>().BindConfiguration(SecurityOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<SecurityOptions>, SecurityOptionsValidator>());
        services.TryAddSingleton(sp => new ResourceIdentity(
            sp.GetRequiredService<IOptions<SecurityOptions>>(),
            sp.GetRequiredService<IOptions<SwitchboardOptions>>(),
            recorded: null,
            boundAddresses: () => sp.GetService<IServer>()?.Features.Get<IServerAddressesFeature>()?.Addresses ?? []));
        AddKeyServices(services);
        services.TryAddSingleton<AccessTokenValidator>();
        services.TryAddSingleton<ExternalIssuerKeys>();
        services.AddHttpClient(ExternalIssuerKeys.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, UseCookies = false, ConnectTimeout = TimeSpan.FromSeconds(5) });
        services.TryAddSingleton<TokenEndpoint>();
        services.TryAddSingleton<TokenRevocationEndpoint>();
        services.TryAddSingleton<TokenRequestLimiter>();
        services.TryAddSingleton<FailedAuthenticationLimiter>();
        services.TryAddSingleton<BearerAuthentication>();
        services.TryAddSingleton<CredentialWatchdog>();
        services.TryAddSingleton<PolicyProvider>();
        services.TryAddSingleton<ToolAccess>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<GatewayStage, AuthorizationStage>());
        services.AddHostedService<KeyRingMaintenance>();
        return builder;
    }

    /// <summary>What the key and client CLI commands need: the ring, its store, the issuer and the client store.</summary>
    internal static void AddKeyServices(IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ResourceIdentity>();
        services.TryAddSingleton<KeyEncryptionKeyProvider>();
        services.TryAddSingleton<ISigningKeyStore, SqliteSigningKeyStore>();
        services.TryAddSingleton<SigningKeyRing>();
        services.TryAddSingleton<AccessTokenIssuer>();
        services.TryAddSingleton<OAuthClientStore>();
        services.TryAddSingleton<TokenRevocationList>();
    }
}
