# moat's container image. Build after `npm ci && npm run build`:
#
#   docker build --build-arg BASE=<image with node >= 22 and iptables> -t moat .
#
# BASE must provide (see docs/operations.md, "Container image"):
#   - node >= 22 on PATH
#   - iptables >= 1.8 with both backends: iptables-nft-save/-restore and
#     iptables-legacy-save/-restore (and the ip6tables-* ones), e.g. Debian's
#     `iptables` package; sh, mktemp, ln, grep
#   - conntrack (conntrack-tools), with which moatd cuts revoked flows
#   - ipset, only for dns: grants (dns.listen set); installed with the others
#     below when BASE lacks those, not required otherwise
# When BASE already has them the build uses no network at all. When it lacks
# them and has apt-get or apk, they are installed from the network.
#
# Run (host network: moat firewalls the host's namespace):
#   docker run -d --name moatd --restart always --network host \
#     --cap-add NET_ADMIN --cap-add NET_RAW \
#     -v /var/run/docker.sock:/var/run/docker.sock:ro moat
# Works with the legacy builder and BuildKit (no heredocs, no --chmod).
ARG BASE

# Stage 1: `moat install` copies the package and only its production
# dependency tree out of the build context's node_modules.
FROM ${BASE} AS stage
COPY package.json /src/package.json
COPY bin/ /src/bin/
COPY dist/ /src/dist/
COPY config/ /src/config/
COPY systemd/ /src/systemd/
COPY node_modules/ /src/node_modules/
COPY scripts/docker-entrypoint.sh /stage/usr/local/bin/moat-entrypoint
RUN node -e 'if (+process.versions.node.split(".")[0] < 22) { console.error("BASE has node " + process.version + "; moat needs >= 22"); process.exit(1) }' \
 && node /src/dist/cli/moat.js install --root /stage --prefix /usr/local --no-systemd \
 && chmod 0755 /stage/usr/local/bin/moat-entrypoint

FROM ${BASE}
RUN if command -v iptables-nft-save && command -v iptables-legacy-save && command -v conntrack; then :; \
    elif command -v apt-get; then \
      apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends iptables conntrack ipset && rm -rf /var/lib/apt/lists/*; \
    elif command -v apk; then apk add --no-cache iptables ip6tables iptables-legacy conntrack-tools ipset; \
    else echo "BASE lacks iptables-nft-save, iptables-legacy-save or conntrack, and has no apt-get or apk" >&2; exit 1; fi >/dev/null
COPY --from=stage /stage/usr/local/ /usr/local/
COPY --from=stage /stage/etc/moat/ /etc/moat/
ENTRYPOINT ["/usr/local/bin/moat-entrypoint"]
CMD []
