# GENERATED from images/spec.ts by `npm run gen:dockerfiles`: edit the spec, not this file.
# Without Docker the same spec builds an OCI archive: npm run images -- build docker.io/dawn/operator:0.1.0
#
# The Dawn operator image (dawn-operator). Build from the repository root:
#   docker build -t dawn/operator:0.1.0 .
# The build stage bundles the operator with esbuild (operator/scripts/bundle.ts) into one
# file that needs no node_modules; bin/dawn-operator, the tests and the bench run that file.
# NODE_OPTIONS: V8 otherwise sizes its heap for the host; override it if a cluster is huge.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
COPY node-image/package.json node-image/
COPY operator/package.json operator/
RUN npm ci --workspace=operator --workspace=node-image --include=dev --ignore-scripts --no-audit --no-fund
COPY node-image/src node-image/src
COPY operator/src operator/src
COPY operator/scripts/bundle.ts operator/scripts/
RUN node operator/scripts/bundle.ts

FROM node:24-bookworm-slim
ENV NODE_ENV=production
ENV NODE_OPTIONS="--max-semi-space-size=1 --max-old-space-size=192"
WORKDIR /app
COPY --from=build /app/operator/dist/dawn-operator.mjs operator/dist/
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "--lite-mode", "operator/dist/dawn-operator.mjs"]
