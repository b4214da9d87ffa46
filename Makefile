# canopy — common tasks. Tools live in .tools/bin (scripts/tools.sh).
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

CPP_BUILD := .cache/cpp-build

.PHONY: tools gen check-gen lint breaking cpp build run test test-clients test-ansible test-containers test-etcd test-networks test-faults bench fuzz soak measure-window openstack-up openstack-down moto-up moto-down etcd-up etcd-down

## run: build and run canopyd on its embedded default (sim cloud "local",
## bbolt in ~/.local/share/canopy, gRPC 127.0.0.1:8470, REST 127.0.0.1:8471)
run: build
	bin/canopyd $(ARGS)

## build: build canopyd and the canopy CLI into bin/ (stamped with the commit
## their --version prints, whatever GOFLAGS says about -buildvcs)
build:
	go build -buildvcs=auto -o bin/canopyd ./cmd/canopyd
	go build -buildvcs=auto -o bin/canopy ./cmd/canopy

## test: every suite (installs what it needs; see scripts/test.sh)
test:
	@scripts/test.sh

## test-clients: Python and C++ clients against a real canopyd
test-clients: tools
	@scripts/test-clients.sh

## test-ansible: the canopy.cloud Ansible collection — ansible-test sanity and
## units, integration playbooks and the inventory plugin against a real
## canopyd with two simulated clouds (clients/ansible/test.sh)
test-ansible:
	@clients/ansible/test.sh

## test-containers: Docker and containerd started by the project's scripts,
## the Containers conformance on each, canopyd end to end over both
test-containers:
	@test/containers/test.sh

## test-etcd: the etcd store (storetest, a lost answer, a killed member) and
## canopyd on --store etcd:// against a 3-member etcd cluster on loopback
## started by test/etcd/up.sh (test/etcd/test.sh)
test-etcd:
	@test/etcd/test.sh -race -v

## etcd-up / etcd-down: the 3-member etcd cluster alone (test/etcd)
etcd-up:
	test/etcd/up.sh
etcd-down:
	test/etcd/down.sh

## test-networks: global networks and security groups end to end — one
## canopyd over the OpenStack lab and moto, each cloud checked with its own
## API (scripts/test-networks.sh; starts what is down)
test-networks:
	@scripts/test-networks.sh

## test-faults: faulty clouds (R2, P6) — canopyd over moto and the
## OpenStack lab's Nova with toxiproxy (latency, resets, blackholes,
## refused connections) and a 5xx front between them: partial answers by
## the caller's deadline, the circuit breaker's bound, recovery; prints the
## FAULTS figures of BENCHMARKS.md (test/faults/test.sh; the lab must be up)
test-faults:
	@test/faults/test.sh -v

## bench: the P1-P4 figures of BENCHMARKS.md
bench:
	go build -o bin/canopy-bench ./cmd/canopy-bench
	bin/canopy-bench

## fuzz: every Go fuzz target, one at a time, CANOPY_FUZZTIME each (default
## 10m); fails on any crash (scripts/fuzz.sh). `make test` runs their seeds.
fuzz:
	@scripts/fuzz.sh

## soak: CANOPY_SOAKTIME (default 10m) of mixed gRPC + REST load on sim
## clouds in canopy-bench; fails on any error or on RSS or goroutines
## leaving ±10 % of their median after the first 20 % (BENCHMARKS.md)
soak:
	go build -o bin/canopy-bench ./cmd/canopy-bench
	bin/canopy-bench -only SOAK -duration $${CANOPY_SOAKTIME:-10m}

## measure-window: the create window on the OpenStack lab (docs/idempotency.md);
## CANOPY_MEASURE_N creates of each kind at once (default 50)
measure-window:
	@clouds_yaml="$$(test/openstack/up.sh | tail -n 1)"; \
	CANOPY_MEASURE_WINDOW=1 CANOPY_OS_CLOUDS_YAML="$$clouds_yaml" go test -tags openstack -count=1 -timeout 30m -v -run TestCreateWindow ./providers/openstack/ | grep -E 'WINDOW|^(ok|FAIL|---)'

## openstack-up / openstack-down: the real OpenStack test bed alone (test/openstack)
openstack-up:
	test/openstack/up.sh
openstack-down:
	test/openstack/down.sh

## moto-up / moto-down: moto's server mode alone (test/moto)
moto-up:
	test/moto/up.sh
moto-down:
	test/moto/down.sh

## tools: install/verify buf, protoc plugins, grpcurl, Debian protoc/grpc, .venv
tools:
	@scripts/tools.sh

## gen: regenerate gen/ (go, openapi) from proto/
gen:
	@scripts/gen.sh

## check-gen: fail if the checked-in gen/ is stale
check-gen:
	@scripts/check-gen.sh

## lint: buf lint + go vet
lint: tools
	buf lint
	go vet ./...

## breaking: buf breaking against the main branch (skipped if main has no protos)
breaking: tools
	@if ! git rev-parse --verify -q main >/dev/null; then \
	  echo "breaking: no local branch main; skipped"; \
	elif ! git ls-tree -r --name-only main -- proto | grep -q '\.proto$$'; then \
	  echo "breaking: main has no protos yet; skipped"; \
	elif git cat-file -e main:buf.yaml 2>/dev/null; then \
	  buf breaking --against '.git#branch=main'; \
	else \
	  buf breaking --against '.git#branch=main,subdir=proto'; \
	fi

## cpp: build clients/cpp (canopy::client, generated at build time from proto/;
## the example and the ctest suite) into .cache/cpp-build
cpp: tools
	cmake -S clients/cpp -B $(CPP_BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(CPP_BUILD) -j $$(nproc)
