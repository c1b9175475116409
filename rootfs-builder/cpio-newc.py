#!/usr/bin/python3
"""Write a tree as a newc cpio archive on stdout, reproducibly.

    cpio-newc.py TREE DEVICES EPOCH

Entries come in sorted order (a directory before its contents), every
owner is 0:0 and every mtime is EPOCH, inode numbers count up from 1, so
the archive depends only on the tree's names, modes and contents.  The
device nodes listed in DEVICES (path type major minor mode) are added
as entries, so building needs no root and no mknod.
"""
import os
import stat
import sys


def header(ino, mode, nlink, mtime, size, rmaj, rmin, name):
	fields = (ino, mode, 0, 0, nlink, mtime, size, 0, 0, rmaj, rmin,
		  len(name) + 1, 0)
	return b"070701" + b"".join(b"%08X" % f for f in fields)


def pad4(n):
	return b"\0" * (-n % 4)


def entry(out, ino, mode, nlink, mtime, name, data=b"", rdev=(0, 0)):
	name = name.encode()
	hdr = header(ino, mode, nlink, mtime, len(data), rdev[0], rdev[1], name)
	out.write(hdr + name + b"\0" + pad4(len(hdr) + len(name) + 1))
	out.write(data + pad4(len(data)))


def tree_entries(root):
	"""(archive name, lstat, data) for everything under root, sorted."""
	for top, dirs, files in os.walk(root):
		dirs.sort()
		rel = os.path.relpath(top, root)
		if rel != ".":
			yield rel, os.lstat(top), b""
		for f in sorted(files + [d for d in dirs if os.path.islink(os.path.join(top, d))]):
			path = os.path.join(top, f)
			st = os.lstat(path)
			name = os.path.normpath(os.path.join(rel, f))
			if stat.S_ISLNK(st.st_mode):
				yield name, st, os.readlink(path).encode()
			elif stat.S_ISREG(st.st_mode):
				with open(path, "rb") as fh:
					yield name, st, fh.read()
			else:
				sys.exit(f"cpio-newc: {path}: unsupported file type")


def device_entries(devices):
	with open(devices) as fh:
		for line in fh:
			f = line.split()
			if not f or f[0].startswith("#"):
				continue
			path, kind, major, minor, perm = f
			fmt = {"c": stat.S_IFCHR, "b": stat.S_IFBLK}[kind]
			yield path.lstrip("/"), fmt | int(perm, 8), (int(major), int(minor))


def main():
	if len(sys.argv) != 4:
		sys.exit("usage: cpio-newc.py TREE DEVICES EPOCH")
	root, devices, mtime = sys.argv[1], sys.argv[2], int(sys.argv[3])
	items = {}
	for name, st, data in tree_entries(root):
		nlink = 2 if stat.S_ISDIR(st.st_mode) else 1
		mode = stat.S_IFMT(st.st_mode) | stat.S_IMODE(st.st_mode)
		items[name] = (mode, nlink, data, (0, 0))
	for name, mode, rdev in device_entries(devices):
		items[name] = (mode, 1, b"", rdev)
	out = sys.stdout.buffer
	# Sorting names with "/" as the lowest character keeps a
	# directory ahead of its contents.
	for ino, name in enumerate(sorted(items, key=lambda n: n.split("/")), 1):
		mode, nlink, data, rdev = items[name]
		entry(out, ino, mode, nlink, mtime, name, data, rdev)
	entry(out, 0, 0, 1, 0, "TRAILER!!!")
	out.flush()


main()
