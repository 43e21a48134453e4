#!/usr/bin/env python3
"""Fails when the daemon made a system call that the systemd unit's SystemCallFilter= denies.

usage: check_filter.py UNIT_FILE TRACE_DIR

TRACE_DIR holds `strace -ff -o TRACE_DIR/trace` output of projectord processes. The unit's filter is
expanded as systemd applies it: the first SystemCallFilter= line sets an allow list (plus @default, which
systemd always allows then), later lines starting with ~ remove from it, later plain lines add to it. Groups
are expanded with `systemd-analyze syscall-filter`.
"""
import pathlib
import re
import subprocess
import sys

_groups = {}


def expand(name):
    """The system calls a name of the filter stands for: itself, or a @group's members, recursively."""
    if not name.startswith("@"):
        return {name}
    if name not in _groups:
        listing = subprocess.run(["systemd-analyze", "syscall-filter", name], check=True, capture_output=True,
                                 text=True).stdout
        members = set()
        for line in listing.splitlines()[1:]:
            word = line.strip()
            if word and not word.startswith("#"):
                members |= expand(word)
        _groups[name] = members
    return _groups[name]


def allowed_by(unit):
    allowed = None
    for line in unit.read_text().splitlines():
        if not line.startswith("SystemCallFilter="):
            continue
        value = line.split("=", 1)[1].strip()
        deny = value.startswith("~")
        calls = set()
        for word in value.lstrip("~").split():
            calls |= expand(word)
        if allowed is None:
            if deny:
                sys.exit(f"{unit}: the first SystemCallFilter= is a deny list; this check handles allow lists")
            allowed = calls | expand("@default")
        elif deny:
            allowed -= calls
        else:
            allowed |= calls
    if allowed is None:
        sys.exit(f"{unit}: no SystemCallFilter=")
    return allowed


def made_in(trace_dir):
    """Every system call named in the traces, with the trace file that shows it first."""
    calls = {}
    call = re.compile(r"^(?:\d+ +)?([a-z_][a-z0-9_]*)\(")
    resumed = re.compile(r"^(?:\d+ +)?<\.\.\. ([a-z_][a-z0-9_]*) resumed>")
    for trace in sorted(pathlib.Path(trace_dir).glob("trace*")):
        for line in trace.read_text(errors="replace").splitlines():
            match = call.match(line) or resumed.match(line)
            if match:
                calls.setdefault(match.group(1), trace.name)
    return calls


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    unit, trace_dir = pathlib.Path(sys.argv[1]), sys.argv[2]
    allowed = allowed_by(unit)
    made = made_in(trace_dir)
    if not made:
        sys.exit(f"no system calls found in {trace_dir}: did the daemon run under strace?")
    denied = sorted(name for name in made if name not in allowed)
    print(f"{len(made)} distinct system calls made, {len(allowed)} allowed by {unit.name}")
    for name in denied:
        print(f"denied by the unit: {name} (first seen in {made[name]})")
    sys.exit(1 if denied else 0)


if __name__ == "__main__":
    main()
