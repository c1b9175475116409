# make deb: the Debian packages husk and husk-guest (debian/), built by
# dpkg-buildpackage -us -uc -b from a copy of the source tree in
# $(DEB_WORK), so that the work tree stays clean and dpkg-buildpackage's
# output, written next to the source directory, stays inside $(BUILD).
# The .deb files (and the .buildinfo and .changes) end up in $(DEB_OUT).
#
# The copy holds the files git knows, committed or not (not build/,
# images/ or .config: the package is built from configs/husk_defconfig).
# Two inputs come from outside, as debian/rules explains: the musl sysroot
# of this tree (built by "make deps") and the guest kernel cache.
#
#   make deb                 build/husk_<version>_amd64.deb, ...
#   make deb-lint            lintian on what make deb built

DEB_OUT ?= $(BUILD)
DEB_WORK ?= $(BUILD)/deb
DEB_JOBS ?= $(shell nproc)
# Recursively expanded: dpkg-parsechangelog runs only when needed.
DEB_VERSION = $(shell dpkg-parsechangelog -l debian/changelog -SVersion)
DEB_CHANGES = $(DEB_OUT)/husk_$(DEB_VERSION)_amd64.changes

deb: $(MUSL_STAMP)
	@set -e; \
	src=$(DEB_WORK)/husk-$(DEB_VERSION); \
	rm -rf $(DEB_WORK); mkdir -p $$src $(DEB_OUT); \
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z -co --exclude-standard; \
	else \
		find . -path ./.git -prune -o -type f -printf '%P\0'; \
	fi | grep -zv -e '^$(BUILD)/' -e '^$(IMAGES)/' -e '^\.config' | \
		xargs -0 sh -c 'for f; do [ -e "$$f" ] && printf "%s\0" "$$f"; done' sh | \
		tar -c --null -T - -f - | tar -x -C $$src; \
	echo "deb: building in $$src"; \
	cd $$src && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		MUSL_SYSROOT=$(abspath $(MUSL_SYSROOT)) \
		HUSK_CACHE_DIR="$${HUSK_CACHE_DIR:-$(CACHE_DIR)}" \
		dpkg-buildpackage -us -uc -b -J$(DEB_JOBS); \
	cd $(CURDIR); \
	for f in $(DEB_WORK)/*.deb $(DEB_WORK)/*.buildinfo $(DEB_WORK)/*.changes; do \
		mv -f $$f $(DEB_OUT)/; echo "deb: $(DEB_OUT)/$${f##*/}"; \
	done; \
	rm -rf $(DEB_WORK)

deb-lint:
	lintian --fail-on error,warning $(DEB_CHANGES)

.PHONY: deb deb-lint

CHECK_PROGS += tests/build/deb.sh
