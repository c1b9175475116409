#!/bin/bash
# tests/e2e/run.sh again with shared_fs = "virtio-9p": the fallback (and
# explicit choice) keeps working now that virtio-fs is the default.
HUSK_E2E_SHARED_FS=virtio-9p exec "$(dirname "$0")/run.sh" "$@"
