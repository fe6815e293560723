# Switchboard as a container: the Native AOT binary on a small chiseled base (no shell, no package manager, non-root).
#   docker build -t switchboard .
#   docker run -p 8080:8080 -v switchboard-data:/data switchboard
# Authentication is on: issue a token with
#   docker run --rm -v switchboard-data:/data switchboard token issue --sub me --scope 'tools:*'
# Clients on this host reach it as localhost:8080; add any other name clients use, or the Host guard answers 400:
#   docker run -p 8080:8080 -v switchboard-data:/data -e Switchboard__Http__AllowedHosts__0=mcp.example.com switchboard
# Upstream MCP servers run as child processes; an image that hosts them adds their runtimes (node, python) to this base.

# The two base images can be replaced (--build-arg) by images of the same content, e.g. from a registry mirror;
# scripts/build-image.sh --dockerfile builds this file with stand-ins made from Debian where no registry is reachable.
ARG SDK_IMAGE=mcr.microsoft.com/dotnet/sdk:10.0-noble
ARG RUNTIME_IMAGE=mcr.microsoft.com/dotnet/runtime-deps:10.0-noble-chiseled-extra

FROM ${SDK_IMAGE} AS build
# Native AOT links with clang and zlib.
RUN apt-get update && apt-get install -y --no-install-recommends clang zlib1g-dev && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY eng/ eng/
COPY src/ src/
RUN dotnet publish src/Switchboard.Host -c Release -r linux-x64 -p:PublishAot=true -o /app \
 && rm -f /app/*.dbg /app/*.pdb \
 && mkdir -p /data

# "-extra" adds tzdata (the clock plugin's time zones) and ICU; the server itself is globalization-invariant and does not
# load ICU, so a base without ICU that has tzdata serves as well.
FROM ${RUNTIME_IMAGE}
WORKDIR /app
COPY --from=build /app/ ./
COPY --from=build --chown=$APP_UID /data /data
# The listen address and data folder are set here, not in CMD, so that `token issue` run with the image reads the same
# ones: a token issued into a new volume before the server's first start carries the identity the server will have.
ENV Switchboard__Urls=http://0.0.0.0:8080 \
    Switchboard__DataDirectory=/data
USER $APP_UID
VOLUME /data
EXPOSE 8080
# `switchboard health` asks /readyz on the configured address (no shell or curl in the image; the AOT binary starts in
# milliseconds). podman keeps this only in the docker image format (build-image.sh builds with --format docker).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 CMD ["/app/switchboard", "health"]
ENTRYPOINT ["/app/switchboard"]
CMD ["serve"]
