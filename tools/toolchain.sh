#!/bin/sh
# The Makefile's questions about the host's tools, answered per OS.
#
#   toolchain.sh prefix         the TOOLPREFIX to use: empty when the native gcc
#                               makes x86-64 ELF objects, else x86_64-elf- or
#                               x86_64-linux-gnu- when such a gcc is on PATH
#   toolchain.sh grub-mkrescue  the name of GRUB's grub-mkrescue here
#   toolchain.sh grub-moddir M  GRUB's i386-pc (BIOS) modules for grub-mkrescue M
#   toolchain.sh missing TOOL   an error message naming the package that
#                               provides TOOL on this OS; exits 1
#   toolchain.sh elf64 CC [FLAG...]  exit 0 when compiler CC (with FLAGs)
#                               makes x86-64 ELF code
#   toolchain.sh first NAME...  the first NAME that is a command here
set -u

# Native compilers that do not make ELF (macOS's gcc is clang making Mach-O;
# an arm64 Linux gcc makes arm64 code) need the cross tools.
elf64() {
	m=$("$@" -dumpmachine 2>/dev/null) || return 1
	case $m in
	*-darwin* | *-mingw* | *-cygwin* | *-windows* | *-msvc*) return 1 ;;
	x86_64-* | amd64-*) return 0 ;;
	esac
	return 1
}

prefix() {
	elf64 gcc && return 0
	for p in x86_64-elf- x86_64-linux-gnu-; do
		if command -v "${p}gcc" >/dev/null 2>&1 && elf64 "${p}gcc"; then
			echo "$p"
			return 0
		fi
	done
}

first_of() {
	for t in "$@"; do
		if command -v "$t" >/dev/null 2>&1; then
			echo "$t"
			return 0
		fi
	done
}

# grub-mkrescue knows its default module directory, but a missing BIOS
# platform only shows at boot (an ISO that does not boot in QEMU): find it
# first. Debian/Ubuntu and Fedora use /usr/lib/grub/i386-pc; a GRUB built
# with a program prefix (Homebrew's x86_64-elf-grub) keeps it under its own
# prefix.
grub_moddir() {
	bin=$(command -v "$1" 2>/dev/null) || return 0
	top=$(dirname "$(dirname "$bin")")
	for d in /usr/lib/grub/i386-pc "$top/lib/grub/i386-pc" "$top/lib/x86_64-elf/grub/i386-pc" \
		"$top/lib/x86_64-elf-grub/i386-pc" "$top/share/grub/i386-pc"; do
		if [ -e "$d/multiboot2.mod" ]; then
			echo "$d"
			return 0
		fi
	done
}

os() {
	case $(uname -s) in
	Darwin) echo macos ;;
	Linux)
		if [ -e /etc/debian_version ]; then
			echo debian
		elif [ -e /etc/fedora-release ]; then
			echo fedora
		else
			echo linux
		fi
		;;
	*) uname -s ;;
	esac
}

# tool: Debian package, Fedora package, Homebrew formula.
package() {
	case $1 in
	gcc | cc)
		if [ "$(uname -m)" = x86_64 ]; then
			set -- build-essential gcc x86_64-elf-gcc
		else # an arm64 Linux: the cross compiler, found as x86_64-linux-gnu-gcc
			set -- gcc-x86-64-linux-gnu gcc-x86_64-linux-gnu x86_64-elf-gcc
		fi
		;;
	ld | objcopy | nm)
		if [ "$(uname -m)" = x86_64 ]; then
			set -- binutils binutils x86_64-elf-binutils
		else
			set -- binutils-x86-64-linux-gnu binutils-x86_64-linux-gnu x86_64-elf-binutils
		fi
		;;
	grub-mkrescue) set -- grub-common grub2-tools-extra x86_64-elf-grub ;;
	grub-bios) set -- grub-pc-bin grub2-pc-modules x86_64-elf-grub ;;
	xorriso) set -- xorriso xorriso xorriso ;;
	mformat) set -- mtools mtools mtools ;;
	qemu-system-x86_64) set -- qemu-system-x86 qemu-system-x86 qemu ;;
	gdb) set -- gdb gdb x86_64-elf-gdb ;;
	pkg-config) set -- pkg-config pkgconf-pkg-config pkgconf ;;
	check) set -- check check-devel check ;;
	python3) set -- python3 python3 python ;;
	clang) set -- clang clang llvm ;;
	ld.lld) set -- lld lld lld ;;
	clang-format) set -- clang-format clang-tools-extra clang-format ;;
	bear) set -- bear bear bear ;;
	*) set -- "$1" "$1" "$1" ;;
	esac
	case $(os) in
	debian) echo "install the Debian package '$1' (or run 'make deps')" ;;
	fedora) echo "install the Fedora package '$2' (sudo dnf install $2)" ;;
	macos) echo "install the Homebrew formula '$3' (brew install $3; README: Setting up on macOS)" ;;
	*) echo "install it (Debian package '$1', Fedora '$2', Homebrew '$3')" ;;
	esac
}

missing() {
	# Cross tools by their plain names: x86_64-elf-gdb is gdb's package.
	set -- "${1#x86_64-elf-}"
	set -- "${1#x86_64-linux-gnu-}"
	case $1 in
	grub2-mkrescue) set -- grub-mkrescue ;;
	esac
	case $1 in
	cc | gcc)
		echo "error: no C compiler for x86-64 ELF: neither 'gcc' nor 'x86_64-elf-gcc' nor" \
			"'x86_64-linux-gnu-gcc' makes x86-64 ELF code here: $(package gcc)" >&2
		;;
	grub-mkrescue)
		echo "error: 'grub-mkrescue' is missing (also looked for x86_64-elf-grub-mkrescue" \
			"and grub2-mkrescue): $(package grub-mkrescue)" >&2
		;;
	grub-bios)
		echo "error: GRUB's BIOS modules (i386-pc/multiboot2.mod) are missing: $(package grub-bios)" >&2
		;;
	check)
		echo "error: the Check library is missing: $(package check)" >&2
		;;
	*)
		echo "error: '$1' is missing: $(package "$1")" >&2
		;;
	esac
	exit 1
}

case ${1:-} in
prefix) prefix ;;
first) shift; first_of "$@" ;;
grub-mkrescue) first_of grub-mkrescue x86_64-elf-grub-mkrescue grub2-mkrescue ;;
grub-moddir) grub_moddir "$2" ;;
missing) missing "$2" ;;
elf64) shift; elf64 "$@" ;;
*)
	echo "usage: $0 prefix|first NAME...|grub-mkrescue|grub-moddir MKRESCUE|missing TOOL|elf64 CC [FLAG...]" >&2
	exit 2
	;;
esac
