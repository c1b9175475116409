# make install DESTDIR=... PREFIX=/usr: whatever has been built so far, in the
# FHS layout a distro package expects.
#   $(PREFIX)/bin                  containerd-shim-husk-v2, husk, husk-runtime
#   $(PREFIX)/libexec/husk         husk-agent (the guest binary)
#   $(PREFIX)/share/husk           guest kernel, initrd, rootfs image
#   $(PREFIX)/share/defaults/husk  default configuration.toml

INSTALL ?= install
HOST_BINS := containerd-shim-husk-v2 husk husk-runtime
GUEST_BINS := husk-agent
GUEST_ASSETS := vmlinux-husk vmlinuz-husk husk-initrd.img husk-rootfs.img

install:
	@set -e; \
	for b in $(HOST_BINS); do \
		[ -f $(BIN)/$$b ] || continue; \
		$(INSTALL) -D -m 0755 $(BIN)/$$b $(DESTDIR)$(PREFIX)/bin/$$b; \
		echo "installed $(DESTDIR)$(PREFIX)/bin/$$b"; \
	done; \
	for b in $(GUEST_BINS); do \
		[ -f $(BIN)/$$b ] || continue; \
		$(INSTALL) -D -m 0755 $(BIN)/$$b $(DESTDIR)$(PREFIX)/libexec/husk/$$b; \
		echo "installed $(DESTDIR)$(PREFIX)/libexec/husk/$$b"; \
	done; \
	for a in $(GUEST_ASSETS); do \
		[ -f $(IMAGES)/$$a ] || continue; \
		$(INSTALL) -D -m 0644 $(IMAGES)/$$a $(DESTDIR)$(PREFIX)/share/husk/$$a; \
		echo "installed $(DESTDIR)$(PREFIX)/share/husk/$$a"; \
	done; \
	if [ -f config/configuration.toml ]; then \
		mkdir -p $(DESTDIR)$(PREFIX)/share/defaults/husk; \
		sed 's|/usr/share/husk/|$(PREFIX)/share/husk/|g' \
			config/configuration.toml \
			>$(DESTDIR)$(PREFIX)/share/defaults/husk/configuration.toml; \
		chmod 0644 $(DESTDIR)$(PREFIX)/share/defaults/husk/configuration.toml; \
		echo "installed $(DESTDIR)$(PREFIX)/share/defaults/husk/configuration.toml"; \
	fi

.PHONY: install
