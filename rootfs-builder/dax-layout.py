#!/usr/bin/python3
"""Wrap a file system image into the rootfs disk that boots both as an
NVDIMM with DAX and as a plain block device (the layout Kata's image
builder uses):

    dax-layout.py FS_IMAGE OUT [ALIGN_MIB]

    offset   what                                     seen by
    0        MBR #1, partition 1 at 3 MiB             virtio-blk: /dev/vda1
    4 KiB    fsdax info block (struct nd_pfn_sb):     libnvdimm: namespace in
             data at 2 MiB, align 2 MiB, mode ram     fsdax mode, /dev/pmem0
    2 MiB    MBR #2, partition 1 at 1 MiB             /dev/pmem0p1 (= 3 MiB)
    3 MiB    FS_IMAGE
    end      zero padding to a multiple of ALIGN_MIB (default 2)

libnvdimm reads the info block at 4 KiB into the namespace and exposes
only what follows dataoff as /dev/pmem0, so the pmem view starts at
MBR #2 while a block device sees MBR #1.  Both partitions cover the
same bytes.  Mode ram keeps the struct pages in guest RAM, so nothing is
ever written to the (read-only, shared) image.  The namespace end must
be 2 MiB aligned, hence the padding.
"""
import os
import struct
import sys

MIB = 1 << 20
HEADER = 2 * MIB		# info block region, = dataoff
PART_START = 1 * MIB		# partition offset inside the data area
PFN_SB_OFFSET = 4096
PFN_MODE_RAM = 1
DISK_SIGNATURE = 0x6b737568	# "husk": PARTUUID=6b737568-01
PFN_UUID = bytes.fromhex("8f0c1d5a3b7e4e2a9c6d0a1b2c3d4e5f")


def fletcher64(data):
	"""nd_fletcher64() from drivers/nvdimm/core.c over little-endian u32s."""
	lo, hi = 0, 0
	for (w,) in struct.iter_unpack("<I", data):
		lo = (lo + w) & 0xffffffff
		hi = (hi + lo) & 0xffffffff
	return hi << 32 | lo


def pfn_sb(size):
	"""struct nd_pfn_sb (drivers/nvdimm/pfn.h), version 1.4, 4 KiB."""
	sb = bytearray(4096)
	npfns = (size - HEADER) // 4096
	struct.pack_into("<16s16s16sIHHQQIIIIIH", sb, 0,
			 b"NVDIMM_PFN_INFO\0", PFN_UUID, bytes(16),
			 0, 1, 4,		# flags, version 1.4
			 HEADER, npfns, PFN_MODE_RAM,
			 0, 0,			# start_pad, end_trunc
			 HEADER,		# align
			 4096, 64)		# page_size, page_struct_size
	struct.pack_into("<Q", sb, 4088, fletcher64(sb))
	return sb


def mbr(start, size):
	"""A DOS partition table with one Linux partition, LBA only."""
	m = bytearray(512)
	struct.pack_into("<I", m, 440, DISK_SIGNATURE)
	struct.pack_into("<B3sB3sII", m, 446, 0, b"\xfe\xff\xff", 0x83,
			 b"\xfe\xff\xff", start // 512, size // 512)
	m[510:512] = b"\x55\xaa"
	return m


def copy_sparse(i, o):
	"""Copy, seeking over zero blocks so the output stays sparse."""
	zero = bytes(64 << 10)
	while chunk := i.read(len(zero)):
		if chunk == zero[:len(chunk)]:
			o.seek(len(chunk), os.SEEK_CUR)
		else:
			o.write(chunk)


def main():
	if len(sys.argv) not in (3, 4):
		sys.exit("usage: dax-layout.py FS_IMAGE OUT [ALIGN_MIB]")
	fs_img, out = sys.argv[1], sys.argv[2]
	align = int(sys.argv[3]) * MIB if len(sys.argv) == 4 else HEADER
	if align % HEADER:
		sys.exit("dax-layout: ALIGN_MIB must be a multiple of 2")
	fs_size = os.path.getsize(fs_img)
	if fs_size % 4096:
		sys.exit(f"dax-layout: {fs_img}: size not a multiple of 4 KiB")
	fs_off = HEADER + PART_START
	size = -(-(fs_off + fs_size) // align) * align
	with open(out, "wb") as o:
		o.write(mbr(fs_off, fs_size))
		o.seek(PFN_SB_OFFSET)
		o.write(pfn_sb(size))
		o.seek(HEADER)
		o.write(mbr(PART_START, fs_size))
		o.seek(fs_off)
		with open(fs_img, "rb") as i:
			copy_sparse(i, o)
		o.truncate(size)


main()
