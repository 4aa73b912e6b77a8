# The usual steps, for a fresh Debian 12 machine:
#   make run    installs missing packages, builds, starts the broker with its monitor and a demo
#   make test   installs missing packages, builds, runs the whole test suite
#   make fuzz   installs clang 14, runs the libFuzzer targets of fuzz/ for FUZZ_SECONDS in total
#   make package  builds the Debian packages switchboard and libswitchboard-dev into build/packages
# Anything else goes through CMake presets (CMakePresets.json): dev, asan and fuzz.

# qt6-websockets-dev: Debian 12's qt6-httpserver-dev needs its CMake files without depending on it.
PACKAGES := cmake ninja-build g++ pkgconf \
            qt6-base-dev qt6-charts-dev qt6-httpserver-dev qt6-websockets-dev \
            libzmq3-dev cppzmq-dev libmsgpack-cxx-dev \
            prometheus-cpp-dev prometheus libsystemd-dev \
            python3-zmq python3-msgpack python3-yaml iproute2 \
            fonts-dejavu-core dpkg-dev file
# The fuzz build is the codecs and the routing core (protocol/, monitoring/ on Qt Core,
# broker/core), compiled by clang with libFuzzer (libclang-rt-14-dev).
FUZZ_PACKAGES := cmake ninja-build pkgconf qt6-base-dev libzmq3-dev cppzmq-dev libmsgpack-cxx-dev \
                 clang-14 libclang-rt-14-dev
FUZZERS := fuzz_mdp fuzz_envelope fuzz_admin fuzz_routing
FUZZ_SECONDS ?= 60
RUN_ARGS ?= --demo
PREFIX ?= /usr/local

.PHONY: all deps configure build run test configure-asan build-asan test-asan \
        deps-fuzz configure-fuzz build-fuzz fuzz bench install package format clean

all: build

# $(call install-missing,<packages>): apt-get installs those of them that are not installed.
define install-missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -z "$$missing" ]; then exit 0; fi; \
	echo "Installing missing packages: $$missing"; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then sudo="sudo"; \
	else echo "error: need root or sudo to install: $$missing (or install them yourself)" >&2; exit 1; fi; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q && \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing
endef

deps:
	$(call install-missing,$(PACKAGES))

deps-fuzz:
	$(call install-missing,$(FUZZ_PACKAGES))

configure: deps
	cmake --preset dev

build: configure
	cmake --build --preset dev

run: build
	./build/dev/app/switchboard $(RUN_ARGS)

test: build
	ctest --preset dev

configure-asan: deps
	cmake --preset asan

build-asan: configure-asan
	cmake --build --preset asan

test-asan: build-asan
	ctest --preset asan

configure-fuzz: deps-fuzz
	cmake --preset fuzz

build-fuzz: configure-fuzz
	cmake --build --preset fuzz

# Each target for an equal share of FUZZ_SECONDS, from its seeds, writing finds to build/fuzz; fails
# on any crash, sanitizer report, leak or hang (docs/FUZZING.md).
fuzz: build-fuzz
	fuzz/run_fuzzers.sh build/fuzz $(FUZZ_SECONDS) $(FUZZERS)

bench: build
	./build/dev/bench/bench_broker
	./build/dev/bench/bench_rpc
	./build/dev/bench/bench_monitor

# Headers, libraries and the CMake package of Switchboard::client and Switchboard::worker, plus
# the switchboard executable: `make install PREFIX=$$HOME/.local`.
install: build
	cmake --install build/dev --prefix $(PREFIX)

# The .deb files of cmake/SwitchboardPackaging.cmake, from the dev tree: only what they hold is
# built (not the tests), then CPack installs it under /usr, strips it and lists its dependencies
# with dpkg-shlibdeps (dpkg-dev, file). Install: `sudo apt install ./build/packages/switchboard_*.deb`.
package: configure
	cmake --build --preset dev --target switchboard switchboard_client switchboard_worker switchboard_protocol
	cpack --config build/dev/CPackConfig.cmake -B build/packages

format:
	git ls-files '*.cpp' '*.h' | xargs clang-format -i

clean:
	rm -rf build
