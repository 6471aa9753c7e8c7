# kvbench + AlexStorage image: Debian 12 with every engine library; `make bench-1m` writes to /results.
#
# Build and run with docker (or podman, same arguments):
#   docker build -t kvbench .
#   docker run --rm -v "$PWD/results:/results" kvbench                      # full bench-1m (~20 min)
#   docker run --rm -v "$PWD/results:/results" -e BENCH_N=100000 -e BENCH_REPS=1 kvbench   # quick
#   docker run --rm -v "$PWD/results:/results" kvbench make bench-sweep     # scale sweep (hours)
# The results (run dir with JSON/CSV, report/ with figures, tables, reproduction.md) land in ./results.
# harness/docker-test.sh (make docker-test) does all of this with podman and checks the output.
FROM debian:bookworm

ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8
RUN apt-get update -qq && apt-get install -y -qq --no-install-recommends make ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# The package list lives in one place, the Makefile's DEB_PACKAGES: install it with `make deps`.
WORKDIR /src
# (only what `make deps` reads, so this layer is rebuilt only when the package list changes)
COPY Makefile /src/Makefile
COPY harness/install-deps.sh /src/harness/install-deps.sh
RUN make deps && rm -rf /var/lib/apt/lists/*

COPY . /src
RUN make build BUILD=build JOBS=2

# Engine data goes to a volume, not the container's overlay: podman mounts the overlay of a --rm
# container "volatile", where fsync does nothing, so durability=sync figures would be fiction there.
ENV BENCH_OUT=/results BENCH_DATA=/data
VOLUME /results /data
CMD ["make", "bench-1m"]
