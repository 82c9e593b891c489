#!/bin/sh
# Gradescope runs this once, as root, when it builds the autograder image
# (Debian/Ubuntu). The packages are those of tools/deps.sh that building and
# grading need.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends build-essential python3 qemu-system-x86 \
	grub-pc-bin grub-common xorriso mtools check pkg-config
# Submissions are built and booted as this unprivileged user, never as root:
# Gradescope's advice, so that a student's code cannot read the bundle (which
# run_autograder makes readable by root only) or change the results.
id -u student >/dev/null 2>&1 ||
	useradd --system --user-group --no-create-home --shell /usr/sbin/nologin student
chmod +x /autograder/source/run_autograder /autograder/source/grade-submission
