# syntax=docker/dockerfile:1
#
# trueup container image: the trueup daemon plus the Terraform it drives, on Debian slim.
#
#   make image                      # docker build (or buildah bud) -t trueup:$(VERSION) .
#   docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=$(git rev-parse --short HEAD) -t trueup .
#
# The build reaches only the Go module proxy (Terraform is built from source, as `make tools` does) and the
# Debian archive. Run it with a stop timeout longer than trueup's shutdown_grace (default 4m; see
# deploy/README.md), or a running apply is killed instead of finished:
#
#   docker run --stop-timeout 300 -p 8080:8080 -v trueup-data:/var/lib/trueup \
#     -v $PWD/trueup.yaml:/etc/trueup/trueup.yaml:ro --env-file trueup.env trueup

# Keep TERRAFORM_VERSION equal to TF_VERSION in the Makefile: the tests run the same Terraform as the image
# (deploy/deploy_test.go checks it).
ARG GO_VERSION=1.26
ARG TERRAFORM_VERSION=1.5.7

FROM golang:${GO_VERSION}-bookworm AS build
ARG TERRAFORM_VERSION
ARG VERSION=dev
ARG COMMIT=unknown
ENV CGO_ENABLED=0 GOBIN=/out
WORKDIR /src
# Terraform first: it changes least, so this slow layer stays cached across trueup changes.
RUN go install -trimpath -ldflags "-s -w" github.com/hashicorp/terraform@v${TERRAFORM_VERSION}
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/trueup ./cmd/trueup \
 && /out/terraform version

FROM debian:bookworm-slim
ARG VERSION=dev
ARG COMMIT=unknown
ARG TERRAFORM_VERSION
LABEL org.opencontainers.image.title="trueup" \
      org.opencontainers.image.description="GitOps reconciliation daemon for Terraform: plans branches, applies main, corrects drift" \
      org.opencontainers.image.source="https://github.com/trueup/trueup" \
      org.opencontainers.image.documentation="https://github.com/trueup/trueup/tree/main/deploy" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${COMMIT}" \
      org.opencontainers.image.base.name="docker.io/library/debian:bookworm-slim" \
      io.trueup.terraform.version="${TERRAFORM_VERSION}"

# git and openssh-client: the repository mirror and Terraform module sources over SSH; ca-certificates: GitHub,
# Slack, provider registries; curl: only for the HEALTHCHECK below (the same probe ECS runs); bubblewrap: the
# sandbox of branch and pull request plans (terraform.sandbox; it needs user namespaces in the container).
# The user's home is the data dir, so ~/.ssh/known_hosts and ~/.terraform.d survive restarts with the data.
RUN apt-get update \
 && apt-get install -y --no-install-recommends bubblewrap ca-certificates curl git openssh-client \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 trueup \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/trueup --no-create-home \
      --shell /usr/sbin/nologin trueup \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/trueup \
 && install -d -m 0755 /etc/trueup

COPY --from=build /out/trueup /out/terraform /usr/local/bin/

# CHECKPOINT_DISABLE: Terraform must not phone checkpoint-api.hashicorp.com from a private subnet.
ENV HOME=/var/lib/trueup CHECKPOINT_DISABLE=1
WORKDIR /var/lib/trueup
# bbolt store, bare git mirror, workdirs, local Terraform state: mount persistent storage here.
# Exactly one trueup may use a data dir at a time.
VOLUME ["/var/lib/trueup"]
# Webhooks (POST /webhooks/github), /healthz, /readyz, /metrics, /api/v1/.
EXPOSE 8080

# The trueup user, numeric so Kubernetes' runAsNonRoot can verify it without a runAsUser.
USER 10001:10001

# /healthz is liveness (the process serves); /readyz is readiness (it takes work; fails while draining).
# Kubernetes and ECS define their own probes on the same paths (deploy/).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]

# SIGTERM: trueup stops taking work and lets a running apply finish within shutdown_grace, then interrupts
# Terraform and exits 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/trueup", "run"]
CMD ["--config", "/etc/trueup/trueup.yaml"]
