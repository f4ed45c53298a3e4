#!/usr/bin/env bash
# Builds the container base image deploy/Containerfile starts from, from Debian's packages alone, for a
# data centre (or a build machine) that cannot pull python:3.11-slim-bookworm from a public registry:
#
#   sudo deploy/base-image.sh [IMAGE] [MIRROR]
#   podman build --build-arg BASE_IMAGE=IMAGE -f deploy/Containerfile -t bizportal .
#
# IMAGE defaults to localhost/bizportal-base:bookworm, MIRROR to http://deb.debian.org/debian.
# The image is Debian bookworm (minbase) with Python 3.11 in a virtual environment at /opt/py whose
# python and pip come first on PATH, as in the official python image. Certificate authorities in
# /usr/local/share/ca-certificates of the building machine (a site's TLS-inspecting proxy, an internal
# package index) are added to the image's trust store, and pip, requests and npm are pointed at it.
# Needs root, debootstrap and podman (apt-get install debootstrap podman).
set -euo pipefail
image="${1:-localhost/bizportal-base:bookworm}"
mirror="${2:-http://deb.debian.org/debian}"
root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT

debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$root" "$mirror"
if compgen -G "/usr/local/share/ca-certificates/*.crt" > /dev/null; then
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  chroot "$root" update-ca-certificates
fi
chroot "$root" python3 -m venv /opt/py
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

bundle=/etc/ssl/certs/ca-certificates.crt
tar -C "$root" -c . | podman import \
  --change "ENV PATH=/opt/py/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
  --change "ENV PIP_CERT=$bundle" --change "ENV REQUESTS_CA_BUNDLE=$bundle" \
  --change "ENV SSL_CERT_FILE=$bundle" --change "ENV NODE_EXTRA_CA_CERTS=$bundle" \
  --change 'CMD ["python"]' - "$image"
echo "base image: $image"
