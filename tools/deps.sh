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

# The oldest releases tested (tools/distro-check; README.md, "Other hosts"):
# Debian 11 (GCC 10.2, binutils 2.35, QEMU 5.2, GRUB 2.06, Python 3.9), and
# Ubuntu 22.04, which has newer versions of each.
too_old() {
	[ -r /etc/os-release ] || return 1
	id=$(sed -n 's/^ID=//p' /etc/os-release | tr -d '"')
	ver=$(sed -n 's/^VERSION_ID=//p' /etc/os-release | tr -d '"')
	major=${ver%%.*}
	case $id:$major in
	debian:[0-9] | debian:10) ;;
	ubuntu:1[0-9] | ubuntu:2[01]) ;;
	*) return 1 ;;
	esac
	echo "deps: $id $ver is older than the oldest supported release (Debian 11 with GCC 10.2," \
		"binutils 2.35, QEMU 5.2, GRUB 2.06, Python 3.9; Ubuntu 22.04): upgrade, or use WSL 2" \
		"or a virtual machine with a newer release (README.md, 'Other hosts')" >&2
	return 0
}

case "$1" in
missing)
	missing
	;;
install)
	if too_old; then
		exit 1
	fi
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
