#!/bin/bash
# tests/e2e/fs.sh on machine_type q35: vhost-user-fs-pci and the memfd as
# the machine's memory backend (fs.sh itself runs microvm's
# vhost-user-fs-device with virtio-mmio.force-legacy=false).
HUSK_E2E_MACHINE=q35 exec "$(dirname "$0")/fs.sh" "$@"
