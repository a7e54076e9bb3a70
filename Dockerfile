# Multi-stage build: a static binary on a distroless base, run as non-root.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CI runs this exact line (see .ci/run), so the image's build is tested.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o bin/cleanslice .

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/bin/cleanslice /cleanslice
COPY --from=build /src/config.toml /config.toml
WORKDIR /
USER nonroot:nonroot
EXPOSE 8000
ENTRYPOINT ["/cleanslice"]
CMD ["serve"]
