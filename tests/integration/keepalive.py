#!/usr/bin/env python3
"""keepalive.py BINARY PORT: every TCP socket that a running BINARY process
has open to 127.0.0.1:PORT must have its keepalive timer armed to fire
within 10 s (pgward sets keepalives_idle=10; libpq's default would leave the
system's 2 hours).  Reads /proc: the timer is the 'tr' column of
/proc/net/tcp (2 = keepalive) and 'tm->when' its remaining clock ticks."""
import os
import sys
import time

binary = os.path.realpath(sys.argv[1])
port = int(sys.argv[2])
hz = os.sysconf("SC_CLK_TCK")

inodes = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        if os.path.realpath("/proc/%s/exe" % pid) != binary:
            continue
        for fd in os.listdir("/proc/%s/fd" % pid):
            link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
            if link.startswith("socket:["):
                inodes[link[8:-1]] = pid
    except OSError:
        continue
if not inodes:
    print("no running %s process with sockets" % binary)
    sys.exit(1)

def sample():
    """{inode: (tr, seconds)} for the established connections to PORT"""
    seen = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            rem_port = int(f[2].split(":")[1], 16)
            tr, when = f[5].split(":")
            if f[9] in inodes and rem_port == port and f[3] == "01":
                seen[f[9]] = (int(tr, 16), int(when, 16) / hz)
    return seen


# A socket with data in flight shows the retransmit timer (1) instead of
# the keepalive timer (2): sample a few times, judge each socket by the
# keepalive timer whenever it shows.
ok = {}
bad = {}
every = set()
for _ in range(20):
    for inode, (tr, secs) in sample().items():
        every.add(inode)
        if tr == 2:
            if secs <= 10.5:
                ok[inode] = secs
            else:
                bad[inode] = secs
    if every and every <= set(ok) | set(bad):
        break
    time.sleep(0.05)
if not every:
    print("no established connection of %s to port %d" % (binary, port))
    sys.exit(1)
for inode in sorted(every):
    if inode in bad:
        print("pid %s socket %s: keepalive in %.1f s" % (inodes[inode], inode, bad[inode]))
    elif inode in ok:
        print("pid %s socket %s: keepalive in %.1f s" % (inodes[inode], inode, ok[inode]))
    else:
        print("pid %s socket %s: never showed a keepalive timer" % (inodes[inode], inode))
fail = len(bad) + len(every - set(ok) - set(bad))
if fail:
    print("%d of %d connections have no 10 s keepalive" % (fail, len(every)))
    sys.exit(1)
