#!/bin/sh
# Pagoda's Debian packages: `deps.sh missing` lists those not installed,
# `deps.sh install` installs them (apt-get, with sudo when not root). clang and
# lld: make test also builds and grades with them (macOS students' compiler).
set -e
# command-or-path:package
NEEDS="gcc:build-essential make:make ld:binutils python3:python3
qemu-system-x86_64:qemu-system-x86 grub-mkrescue:grub-common
/usr/lib/grub/i386-pc/multiboot2.mod:grub-pc-bin xorriso:xorriso mformat:mtools
gdb:gdb pkg-config:pkg-config /usr/include/check.h:check clang:clang ld.lld:lld"

missing() {
	for pair in $NEEDS; do
		what=${pair%%:*}
		pkg=${pair#*:}
		case $what in
		/*) [ -e "$what" ] || echo "$pkg" ;;
		*) command -v "$what" >/dev/null 2>&1 || echo "$pkg" ;;
		esac
	done | sort -u
}

case "$1" in
missing)
	missing
	;;
install)
	pkgs=$(missing | tr '\n' ' ')
	if [ -z "$pkgs" ]; then
		echo "deps: all packages present"
		exit 0
	fi
	if ! command -v apt-get >/dev/null 2>&1; then
		echo "deps: missing: $pkgs(Debian names); this is not a Debian or Ubuntu system:" \
			"README.md, 'Other hosts', lists the packages for macOS and Fedora" >&2
		exit 1
	fi
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	echo "deps: installing $pkgs"
	$sudo apt-get update
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y $pkgs
	;;
*)
	echo "usage: $0 missing|install" >&2
	exit 2
	;;
esac
