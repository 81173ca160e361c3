#!/usr/bin/env bash
# Build the lab's base image offline: debootstrap Debian bookworm (systemd, python3) + docker import.
# Cached: the image is tagged with a hash of this recipe and rebuilt only when the recipe changes.
# Prints the image reference (harbor-ha-lab/base:<hash>) on stdout; also tags harbor-ha-lab/base:latest.
set -euo pipefail

MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
PACKAGES=python3,python3-apt,systemd,systemd-sysv,dbus,iproute2,iputils-ping,ca-certificates,procps,less,sudo,gnupg,curl
RECIPE="suite=$SUITE packages=$PACKAGES recipe=4"
TAG=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
IMAGE=harbor-ha-lab/base

if docker image inspect "$IMAGE:$TAG" >/dev/null 2>&1; then
  docker tag "$IMAGE:$TAG" "$IMAGE:latest"
  echo "$IMAGE:$TAG"
  exit 0
fi

command -v debootstrap >/dev/null || { echo "debootstrap is missing: run hack/bootstrap.sh" >&2; exit 1; }
ROOTFS=$(mktemp -d /var/tmp/harbor-ha-rootfs.XXXXXX)
trap 'rm -rf "$ROOTFS"' EXIT
echo "building $IMAGE:$TAG with debootstrap (about 70 s)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >&2
# Container-friendly systemd: no getty, no udev triggers, nothing that needs real hardware.
chroot "$ROOTFS" systemctl mask getty@tty1.service serial-getty@ttyS0.service systemd-udevd.service \
  systemd-udev-trigger.service systemd-remount-fs.service sys-kernel-debug.mount dev-hugepages.mount \
  systemd-logind.service >/dev/null 2>&1 || true
printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
  "$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" > "$ROOTFS/etc/apt/sources.list"
printf 'APT::Install-Recommends "false";\nAPT::Install-Suggests "false";\n' > "$ROOTFS/etc/apt/apt.conf.d/90-lab-no-recommends"
: > "$ROOTFS/etc/machine-id"
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/archives/*.deb
tar -C "$ROOTFS" -c . | docker import \
  --change 'CMD ["/lib/systemd/systemd"]' \
  --change 'ENV container=docker' \
  - "$IMAGE:$TAG" >&2
docker tag "$IMAGE:$TAG" "$IMAGE:latest"
echo "$IMAGE:$TAG"
