# Multi-stage build: compile with the Go image, run from a minimal non-root
# base with no shell.
#
#   podman build --format docker -t mirrorlist-server .   # or: docker build -t mirrorlist-server .
#
# --format docker: podman's default, the OCI format, has no HEALTHCHECK and
# drops the one below silently.
#
# Without registry access, build the binary on the host with the build
# stage's command and hand it in as the stage (a build context named like a
# stage replaces it, in podman and docker buildx alike), and a local image
# as the base; deploy/container/check.sh does this and runs the result:
#
#   CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o ctx/out/mirrorlist-server ./cmd/mirrorlist-server
#   podman build --format docker --build-context build=ctx \
#       --build-context gcr.io/distroless/static-debian12:nonroot=docker-image://LOCAL-BASE .
FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/mirrorlist-server ./cmd/mirrorlist-server

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/mirrorlist-server /usr/local/bin/mirrorlist-server
# The MirrorManager files (snapshot, netblocks, continents, GeoIP) are
# mounted here and replaced in place by rsync; the server reloads them.
VOLUME ["/var/lib/mirrormanager"]
USER 65532:65532
EXPOSE 3000 9090
# No shell or curl in the image: the binary probes its own readiness.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
    CMD ["/usr/local/bin/mirrorlist-server", "--probe", "http://127.0.0.1:3000/readyz"]
ENTRYPOINT ["/usr/local/bin/mirrorlist-server", \
    "--listen", "0.0.0.0", "--port", "3000", \
    "--cache", "/var/lib/mirrormanager/mirrorlist_cache.proto", \
    "--global_netblocks", "/var/lib/mirrormanager/global_netblocks.txt", \
    "--cccsv", "/var/lib/mirrormanager/country_continent.csv", \
    "--geoip", "/var/lib/mirrormanager/GeoLite2-Country.mmdb", \
    "--log", "/dev/stdout", \
    "--admin-listen", "0.0.0.0:9090"]
