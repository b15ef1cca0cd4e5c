# pointsync: a static binary on a distroless base, run as a non-root user.
#   docker build -t pointsync .
#   docker run -v /etc/pointsync:/etc/pointsync:ro -v pointsync-data:/var/lib/pointsync \
#              -v /srv/pointsync/drops:/srv/pointsync/drops pointsync
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN deploy/build.sh /out/pointsync "${VERSION}"

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/pointsync /usr/local/bin/pointsync
# The ledger (SQLite) and the drop folders live outside the image.
VOLUME ["/var/lib/pointsync", "/srv/pointsync/drops"]
USER nonroot:nonroot
ENV POINTSYNC_CONFIG=/etc/pointsync/pointsync.yaml
# Unhealthy when a job has failed three times in a row (see README
# "Operations"); the daemon itself restarts nothing.
HEALTHCHECK --interval=1m --timeout=20s --start-period=2m \
  CMD ["/usr/local/bin/pointsync", "status", "--check"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/pointsync"]
CMD ["run"]
