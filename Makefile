# trueup — build, test and demo. Every target works offline on a fresh machine:
# `make tools` builds Terraform and the hashicorp/local provider from the Go module proxy.
SHELL := /bin/bash
GO ?= go
TOOLS := $(CURDIR)/.tools
TF_VERSION := 1.5.7
LOCAL_PROVIDER_VERSION := 2.5.2
TERRAFORM := $(TOOLS)/bin/terraform
PROVIDER_DIR := $(TOOLS)/providers/registry.terraform.io/hashicorp/local/$(LOCAL_PROVIDER_VERSION)/linux_amd64
PROVIDER := $(PROVIDER_DIR)/terraform-provider-local
TERRAFORMRC := $(TOOLS)/terraformrc
# The Kubernetes control plane the kubernetes executor's and deploy/'s tests run against (controller-runtime's
# envtest): etcd, kube-apiserver and kubectl, built from the versions .ci/envtest pins.
KUBE_DIR := $(TOOLS)/kube
ETCD := $(KUBE_DIR)/etcd
KUBE_APISERVER := $(KUBE_DIR)/kube-apiserver
KUBECTL := $(KUBE_DIR)/kubectl
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)
LDFLAGS := -X main.version=$(VERSION) -X main.commit=$(COMMIT)

# Tests find the tools through these; they skip nothing when they are set.
export TRUEUP_TERRAFORM := $(TERRAFORM)
export TRUEUP_TERRAFORMRC := $(TERRAFORMRC)

.PHONY: all tools bwrap postgres build test unit lint demo bench image clean
all: build

tools: $(TERRAFORM) $(PROVIDER) $(TERRAFORMRC) $(ETCD) $(KUBE_APISERVER) $(KUBECTL) bwrap postgres

# PG_BIN finds PostgreSQL's server binaries (initdb, postgres) the way reconciler/pgstore/pgtest does:
# $TRUEUP_PG_BIN, else pg_config --bindir, else the newest /usr/lib/postgresql/<version>/bin.
PG_BIN = $${TRUEUP_PG_BIN:-$$( { d=$$(pg_config --bindir 2>/dev/null) && [ -x "$$d/initdb" ] && echo "$$d"; } || \
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5 -n | tail -1)}

# bubblewrap sandboxes branch and pull request plans (terraform.sandbox). Installed from the
# distribution's packages where it is missing and this user may (root with apt-get).
bwrap:
	@if command -v bwrap >/dev/null; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing bubblewrap (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	else \
	  echo "bubblewrap (bwrap) is missing: install it as root (apt-get install bubblewrap, apk add bubblewrap or dnf install bubblewrap); the sandbox tests need it"; \
	fi

# PostgreSQL runs the pgstore tests (each test binary starts its own server in a temp dir; a cluster
# the package's postinst may start is never used). Installed from the distribution's packages where
# it is missing and this user may (root with apt-get).
postgres:
	@d="$(PG_BIN)"; if [ -n "$$d" ] && [ -x "$$d/initdb" ] && [ -x "$$d/postgres" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing postgresql (apt-get)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	else \
	  echo "PostgreSQL is missing: install it as root (apt-get install postgresql, apk add postgresql or dnf install postgresql-server) or set TRUEUP_PG_BIN; the pgstore tests need it"; \
	fi

$(TERRAFORM):
	@mkdir -p $(TOOLS)/bin
	@echo "building terraform v$(TF_VERSION) from source (one time, a few minutes)"
	GOBIN=$(TOOLS)/bin $(GO) install github.com/hashicorp/terraform@v$(TF_VERSION)

$(PROVIDER):
	@mkdir -p $(PROVIDER_DIR) $(TOOLS)/gobin
	@echo "building the hashicorp/local provider from source (one time)"
	GOBIN=$(TOOLS)/gobin $(GO) install github.com/terraform-providers/terraform-provider-local@latest
	cp $(TOOLS)/gobin/terraform-provider-local $(PROVIDER)

# Built from .ci/envtest, a module of its own (kube-apiserver takes several minutes on 2 cores).
$(ETCD):
	@mkdir -p $(KUBE_DIR)
	@echo "building etcd from source (one time)"
	cd .ci/envtest && $(GO) build -trimpath -o $@ go.etcd.io/etcd/server/v3

$(KUBE_APISERVER):
	@mkdir -p $(KUBE_DIR)
	@echo "building kube-apiserver from source (one time, several minutes)"
	cd .ci/envtest && $(GO) build -trimpath -o $@ k8s.io/kubernetes/cmd/kube-apiserver

$(KUBECTL):
	@mkdir -p $(KUBE_DIR)
	@echo "building kubectl from source (one time, a few minutes)"
	cd .ci/envtest && $(GO) build -trimpath -o $@ k8s.io/kubernetes/cmd/kubectl

$(TERRAFORMRC):
	@mkdir -p $(TOOLS)
	@printf '%s\n' \
	  'disable_checkpoint = true' \
	  'provider_installation {' \
	  '  filesystem_mirror {' \
	  '    path    = "$(TOOLS)/providers"' \
	  '    include = ["registry.terraform.io/hashicorp/*"]' \
	  '  }' \
	  '}' > $@

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/trueup ./cmd/trueup

# make test requires PostgreSQL and the Kubernetes control plane: their tests fail instead of skipping
# when they are missing.
test: tools
	TRUEUP_PG_BIN="$(PG_BIN)" TRUEUP_REQUIRE_POSTGRES=1 KUBEBUILDER_ASSETS=$(KUBE_DIR) TRUEUP_REQUIRE_KUBE=1 TRUEUP_KUBECTL=$(KUBECTL) \
	  TF_CLI_CONFIG_FILE=$(TERRAFORMRC) $(GO) test -count=1 -timeout 30m ./...

unit:
	$(GO) test -count=1 -short ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

demo: tools build
	./examples/quickstart/demo.sh

bench: tools build
	$(GO) run ./cmd/trueup-bench

image:
	@args="--build-arg VERSION=$(VERSION) --build-arg COMMIT=$(COMMIT)"; \
	if command -v docker >/dev/null && docker info >/dev/null 2>&1; then docker build $$args -t trueup:$(VERSION) .; \
	elif command -v buildah >/dev/null; then buildah bud $$args -t trueup:$(VERSION) .; \
	else echo "make image: no container engine (docker or buildah) found"; exit 1; fi

clean:
	rm -rf bin .bench
