#!/usr/bin/python3
"""Print what a guest rootfs image holds, one "key=value" per line, for
tests/guest/*.sh to assert on: the fsdax info block at 4 KiB (signature,
checksum recomputed here independently of rootfs-builder, dataoff, align,
mode, npfns) and the DOS partition tables at 0 and at dataoff.

    inspect-image.py IMAGE
"""
import os
import struct
import sys

path = sys.argv[1]
size = os.path.getsize(path)
with open(path, "rb") as f:
	head = f.read(4 << 20)
print(f"size={size}")

sb = bytearray(head[4096:8192])
print("pfn_signature=" + sb[:16].rstrip(b"\0").decode(errors="replace"))
stored = struct.unpack_from("<Q", sb, 4088)[0]
sb[4088:4096] = bytes(8)
lo = hi = 0
for i in range(0, 4096, 4):	# nd_fletcher64, drivers/nvdimm/core.c
	lo = (lo + int.from_bytes(sb[i:i + 4], "little")) & 0xffffffff
	hi = (hi + lo) & 0xffffffff
print(f"pfn_checksum_ok={int(stored == (hi << 32 | lo))}")
(vmaj, vmin, dataoff, npfns, mode, start_pad, end_trunc, align) = \
	struct.unpack_from("<HHQQIIII", sb, 52)
print(f"pfn_version={vmaj}.{vmin} pfn_dataoff={dataoff} pfn_align={align}")
print(f"pfn_mode={mode} pfn_npfns={npfns} pfn_start_pad={start_pad} "
      f"pfn_end_trunc={end_trunc}")
print(f"pfn_parent_uuid_zero={int(sb[32:48] == bytes(16))}")

for name, off in (("mbr1", 0), ("mbr2", dataoff)):
	m = head[off:off + 512]
	parts = []
	for i in range(4):
		boot, ptype, lba, n = struct.unpack_from("<B3xB3xII", m, 446 + 16 * i)
		if ptype:
			parts.append(f"{ptype:#04x}@{lba * 512}+{n * 512}")
	print(f"{name}_sig={m[510:512].hex()} {name}_parts={','.join(parts)}")
