# Makefile - a thin wrapper over CMake so `make`, `make test` and `make bench-1m` work from the root.
# Every target that needs packages runs `deps` first, which installs what is missing with apt-get
# (harness/install-deps.sh).

BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_TSAN ?= build-tsan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
CTEST_ARGS ?= --output-on-failure

# Debian 12 packages the project needs (build, engines, tests, reports).
DEB_PACKAGES = build-essential cmake pkg-config git clang libclang-rt-14-dev \
               librocksdb-dev liblmdb-dev libsqlite3-dev libjemalloc-dev libxxhash-dev \
               libjansson-dev libcmocka-dev \
               libleveldb-dev libwiredtiger-dev libtkrzw-dev libdb-dev libkyotocabinet-dev \
               python3 python3-matplotlib gnuplot-nox poppler-utils valgrind
SLURM_PACKAGES = slurm-wlm munge bc
PAPER_PACKAGES = texlive-latex-base texlive-latex-recommended texlive-fonts-recommended latexmk lmodern

SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

PREFIX ?= /usr/local

.PHONY: all build deps deps-slurm test-slurm install test test-release test-asan test-tsan test-long bench-1m bench-sweep bench-ycsb clean build-fuzz fuzz fuzz-corpus paper paper-deps docker-test

all: build

deps:
	@./harness/install-deps.sh deps $(DEB_PACKAGES)

$(BUILD)/Makefile: CMakeLists.txt
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

build-asan: deps
	cmake -S . -B $(BUILD_ASAN) -DCMAKE_BUILD_TYPE=Debug -DKV_ASAN=ON -DCMAKE_C_FLAGS_DEBUG="-O1 -g"
	cmake --build $(BUILD_ASAN) -j $(JOBS)

build-tsan: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_TSAN) -DCMAKE_BUILD_TYPE=Debug -DKV_TSAN=ON -DCMAKE_C_FLAGS_DEBUG="-O1 -g"
	cmake --build $(BUILD_TSAN) -j $(JOBS)

# libalexstorage.so/.a, alexstorage.h, alexstorage.pc and the `alexstorage` tool under PREFIX.
install: build
	cmake --install $(BUILD) --prefix $(PREFIX)

# The whole suite: Release, then ASan+UBSan, then the threaded tests under TSan.
test: test-release test-asan test-tsan

test-release: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

test-asan: build-asan
	cd $(BUILD_ASAN) && ctest $(CTEST_ARGS)

test-tsan: build-tsan
	cd $(BUILD_TSAN) && ctest $(CTEST_ARGS) -L tsan

# A single-node Slurm cluster on this machine runs a sweep's cells as a job array (root; CI runs it
# after `make test`): harness/slurm/test-slurm.sh.
deps-slurm:
	@./harness/install-deps.sh deps-slurm $(SLURM_PACKAGES)

test-slurm: build deps-slurm
	$(SUDO) ./harness/slurm/test-slurm.sh $(BUILD)/kvbench

test-long: build
	cd $(BUILD) && KV_TEST_LONG=1 ctest $(CTEST_ARGS)
	$(MAKE) fuzz FUZZ_SECONDS=60

# libFuzzer targets tests/fuzz/fuzz_*.c (clang, ASan+UBSan), each run FUZZ_SECONDS from the committed
# seeds in tests/fuzz/corpus/<target>/; new inputs go to $(BUILD_FUZZ)/corpus, crashes to $(BUILD_FUZZ)/crashes.
BUILD_FUZZ   ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_TARGETS = $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))

build-fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(BUILD_FUZZ) -DCMAKE_BUILD_TYPE=Debug -DKV_FUZZ=ON -DCMAKE_C_FLAGS_DEBUG="-O1 -g"
	cmake --build $(BUILD_FUZZ) -j $(JOBS) --target $(FUZZ_TARGETS) fuzz_seedgen

fuzz: build-fuzz
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(BUILD_FUZZ)/corpus/$$t $(BUILD_FUZZ)/crashes/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s"; \
	  $(BUILD_FUZZ)/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 -artifact_prefix=$(BUILD_FUZZ)/crashes/$$t/ \
	    $(BUILD_FUZZ)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# Rewrite the committed seed corpora (after an on-disk format change).
fuzz-corpus: build-fuzz
	$(BUILD_FUZZ)/fuzz_seedgen tests/fuzz/corpus

bench-1m: build
	./harness/bench-1m.sh $(BUILD)/kvbench

bench-sweep: build
	./harness/bench-sweep.sh $(BUILD)/kvbench

# YCSB A-F at 1M keys on every engine + one run on a hard key set; report in <run>/report/ycsb.md
bench-ycsb: build
	./harness/bench-ycsb.sh $(BUILD)/kvbench

# The paper skeleton from the newest results run (or the committed fixture): papers/alexstorage/build/paper.pdf
paper-deps: deps
	@./harness/install-deps.sh paper-deps $(PAPER_PACKAGES)

paper: paper-deps
	./papers/alexstorage/build.sh

# Builds the Docker image with podman (bootstrapping debian:bookworm if needed) and runs a short bench in it.
docker-test:
	./harness/docker-test.sh

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_TSAN) $(BUILD_FUZZ)
