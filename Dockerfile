# torii's image: a static binary on an empty base, run as UID 1001, with
# only /tmp writable (readOnlyRootFilesystem: true works). `make image`
# builds the same image without a Docker daemon (tools/image reads the
# final stage below and runs the same rootfs.sh).
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t torii .

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN VERSION="$VERSION" sh tools/image/rootfs.sh /rootfs

FROM scratch
COPY --from=build /rootfs/ /
ENV PATH=/usr/local/bin
USER 1001:1001
WORKDIR /
EXPOSE 5556 5558
ENTRYPOINT ["/usr/local/bin/torii"]
CMD ["serve", "/etc/torii/config.yaml"]
