#!/usr/bin/python3
"""List a (compressed) newc initramfs, one entry per line, for
tests/guest/*.sh to assert on; a reader independent of rootfs-builder:

    inspect-initrd.py INITRD
    -> NAME TYPE PERM UID GID MTIME RDEV_MAJOR:RDEV_MINOR SIZE

TYPE is one of d f l c b.  Exits non-zero on a malformed archive.
"""
import gzip
import subprocess
import sys

MAGICS = {b"\x1f\x8b": "gzip", b"\x28\xb5\x2f\xfd": "zstd", b"\x02\x21\x4c\x18": "lz4"}


def load(path):
	with open(path, "rb") as f:
		data = f.read()
	for magic, kind in MAGICS.items():
		if data.startswith(magic):
			if kind == "gzip":
				return gzip.decompress(data)
			return subprocess.run([kind, "-dc"], input=data, check=True,
					      capture_output=True).stdout
	return data


def main():
	d = load(sys.argv[1])
	pos, types = 0, {0o040000: "d", 0o100000: "f", 0o120000: "l",
			 0o020000: "c", 0o060000: "b"}
	while True:
		if d[pos:pos + 6] != b"070701":
			sys.exit(f"bad newc magic at offset {pos}")
		f = [int(d[pos + 6 + 8 * i:pos + 14 + 8 * i], 16) for i in range(13)]
		_, mode, uid, gid, _, mtime, size, _, _, rmaj, rmin, namesize, _ = f
		name = d[pos + 110:pos + 110 + namesize - 1].decode()
		pos += -(-(110 + namesize) // 4) * 4
		pos += -(-size // 4) * 4
		if name == "TRAILER!!!":
			break
		kind = types.get(mode & 0o170000, "?")
		print(f"{name} {kind} {mode & 0o7777:04o} {uid} {gid} {mtime} "
		      f"{rmaj}:{rmin} {size}")


main()
