#!/bin/sh
# Gradescope runs this once when it builds the autograder image (Debian/Ubuntu).
# The packages are those of tools/deps.sh that building and grading need.
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends build-essential python3 qemu-system-x86 \
	grub-pc-bin grub-common xorriso mtools
chmod +x /autograder/source/run_autograder /autograder/source/grade-submission
