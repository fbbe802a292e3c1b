# GENERATED from images/spec.ts by `npm run gen:dockerfiles`: edit the spec, not this file.
# Without Docker the same spec builds an OCI archive: npm run images -- build docker.io/dawn/operator:0.1.0
#
# The Dawn operator image (dawn-operator). Build from the repository root:
#   docker build -t dawn/operator:0.1.0 .
# The operator imports node-image's identity and config modules (one source of truth
# for key files, certificates and the node config), so both workspaces are copied.
# NODE_OPTIONS: V8 otherwise sizes its heap for the host; override it if a cluster is huge.
FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY node-image/package.json node-image/
COPY operator/package.json operator/
RUN npm ci --workspace=operator --workspace=node-image --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:24-bookworm-slim
ENV NODE_ENV=production
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=192"
WORKDIR /app
COPY --from=deps /app/node_modules node_modules
COPY node-image/package.json node-image/
COPY node-image/src node-image/src
COPY operator/package.json operator/
COPY operator/src operator/src
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "--disable-warning=ExperimentalWarning", "operator/src/cli/main.ts"]
