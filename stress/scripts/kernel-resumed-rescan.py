#!/usr/bin/env python3
"""The real kernel's side of ResumedRescanRace (docs/latency-model.md): a 100,000-extent qgroup rescan
paused by an RO remount, umount, mount -o ro, remount rw -- does the resumed rescan complete, or does
its worker see BTRFS_FS_STATE_REMOUNTING and pause again? With ftrace timestamps of the queueing
(btrfs:btrfs_work_queued, in btrfs_qgroup_rescan_resume), the worker's start (btrfs:btrfs_work_sched,
just before its first rescan_should_stop) and the mount(2) exit (after REMOUNTING was cleared).

usage (root; btrfs-progs; a loop device; the machine's own kernel):
    stress/scripts/kernel-resumed-rescan.py [RUNS=40] [WORKDIR=/tmp/kernel-resumed-rescan]
It makes a 4 GiB sparse image in WORKDIR, mounts it on WORKDIR/mnt, mounts tracefs on
/sys/kernel/tracing if needed, and undoes all of it at the end (the image file stays for reuse).
"""
import os
import re
import subprocess
import sys
import time

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 40
WORK = sys.argv[2] if len(sys.argv) > 2 else '/tmp/kernel-resumed-rescan'
IMG, MNT, TRACE = WORK + '/qg.img', WORK + '/mnt', '/sys/kernel/tracing'
EVENTS = ['btrfs/btrfs_work_queued', 'btrfs/btrfs_work_sched', 'syscalls/sys_enter_mount', 'syscalls/sys_exit_mount']


def sh(cmd, check=True):
    return subprocess.run(cmd, shell=True, check=check, capture_output=True, text=True).stdout


def tracefs(path, value):
    with open(TRACE + '/' + path, 'w') as f:
        f.write(value)


DEVICE = None  # "(device loop0" + ")" or " state ...)": other tasks may run btrfs here at the same time


def dmesg_lines():
    return [l for l in sh('dmesg').splitlines() if DEVICE.search(l)]


def wait_for_outcome(since, timeout=30.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        new = dmesg_lines()[since:]
        if any('qgroup scan completed' in l for l in new):
            return 'completed'
        if any('qgroup scan paused' in l for l in new):
            return 'paused again'
        time.sleep(0.05)
    return 'no message'


def stamp(trace, *needles):
    for line in trace.splitlines():
        if all(n in line for n in needles):
            return float(re.search(r'\s(\d+\.\d+):', line).group(1))
    return None


def main():
    global DEVICE
    os.makedirs(MNT, exist_ok=True)
    mounted_tracefs = False
    if not os.path.exists(TRACE + '/events'):
        os.makedirs(TRACE, exist_ok=True)
        sh(f'mount -t tracefs nodev {TRACE}')
        mounted_tracefs = True
    if not os.path.exists(IMG):
        sh(f'truncate -s 4G {IMG}')
    dev = sh(f'losetup -f --show {IMG}').strip()
    DEVICE = re.compile(r'\(device ' + re.escape(os.path.basename(dev)) + r'[ )]')
    try:
        sh(f'mkfs.btrfs -q -f {dev}')
        fsid = sh(f'blkid -s UUID -o value {dev}').strip()
        sh(f'mount {dev} {MNT}')
        t0 = time.time()
        for f in range(10):  # 10 x 10,000 separate 4 KiB preallocated extents
            fd = os.open(f'{MNT}/f{f}', os.O_CREAT | os.O_WRONLY)
            for i in range(10000):
                os.posix_fallocate(fd, i * 8192, 4096)
            os.close(fd)
        sh('sync')
        sh(f'btrfs quota enable {MNT}')
        sh(f'btrfs quota rescan -w {MNT}')
        print(f'kernel {os.uname().release}, {dev} (fsid {fsid}): built 100,000 extents in {time.time() - t0:.1f} s',
              flush=True)
        tracefs('buffer_size_kb', '8192')
        for e in EVENTS:
            tracefs(f'events/{e}/enable', '1')
        outcomes = []
        for r in range(RUNS):
            # a rescan, paused by an RO remount (it takes long enough here to be caught unforced)
            n = len(dmesg_lines())
            sh(f'btrfs quota rescan {MNT}')
            sh(f'mount -o remount,ro {MNT}')
            first_paused = wait_for_outcome(n, timeout=5.0) == 'paused again'  # logged after complete_all
            sh(f'umount {MNT}')
            sh(f'mount -o ro {dev} {MNT}')
            tracefs('trace', '')
            n = len(dmesg_lines())
            remount = subprocess.Popen(['mount', '-o', 'remount,rw', MNT])
            remount.wait()
            if not first_paused:
                # the rescan was over before the RO remount: nothing to resume, the run does not count
                print(f'run {r + 1:2d}: the RO remount found the rescan finished; not counted', flush=True)
                outcome = 'not paused'
            else:
                outcome = wait_for_outcome(n)
                trace = open(TRACE + '/trace').read()
                rescan_work = 'func=btrfs_qgroup_rescan_worker'
                q = stamp(trace, 'btrfs_work_queued', fsid, rescan_work)
                s = stamp(trace, 'btrfs_work_sched', fsid, rescan_work)
                x = stamp(trace, f'mount-{remount.pid} ', 'sys_mount ->')
                us = lambda a, b: f'{(a - b) * 1e6:7.1f}' if a is not None and b is not None else '    n/a'
                print(f'run {r + 1:2d}: after remount rw: {outcome:12s} queued->mount(2) exit {us(x, q)} us, '
                      f'queued->worker start {us(s, q)} us', flush=True)
            outcomes.append(outcome)
            sh(f'umount {MNT}')
            sh(f'mount {dev} {MNT}')  # a paused rescan resumes here; let it finish
            sh(f'btrfs quota rescan -w {MNT}', check=False)
        counted = len(outcomes) - outcomes.count('not paused')
        print(f'resumed rescan after remount rw: completed {outcomes.count("completed")} of {counted}, '
              f'paused again {outcomes.count("paused again")} ({outcomes.count("not paused")} runs not paused by the RO remount)')
    finally:
        for e in EVENTS:
            try:
                tracefs(f'events/{e}/enable', '0')
            except OSError:
                pass
        sh(f'umount {MNT}', check=False)
        sh(f'losetup -d {dev}', check=False)
        if mounted_tracefs:
            sh(f'umount {TRACE}', check=False)


if __name__ == '__main__':
    main()
