#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for trying `dreamvideo farm slurm` scripts and for the test
# suite: munged (as the munge user), slurmctld and slurmd (as root), no cgroups needed
# (proctrack/linuxproc, task/none). Needs root and Debian's slurm-wlm and munge packages.
#
#   scripts/slurm-local.sh start DIR    writes DIR/slurm.conf, starts the daemons, waits until the node is idle
#   scripts/slurm-local.sh stop DIR     stops the daemons started by `start DIR`
#
# Then: export SLURM_CONF=DIR/slurm.conf, and sbatch/squeue/sinfo talk to it.
set -euo pipefail
cmd=${1:?usage: slurm-local.sh start|stop DIR}
dir=${2:?usage: slurm-local.sh start|stop DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

fail() { echo "slurm-local: $*" >&2; exit 1; }

# Runs a daemon with nothing of its caller's open: stdin, stdout and stderr on /dev/null and every other inherited
# descriptor closed. A daemon that kept one would hold its caller's pipe or, for a Swift `Process`, the socket whose
# end tells it that the child exited: the caller would wait for the daemon, that is for ever.
detached() {
    python3 -c 'import os, sys; os.closerange(3, os.sysconf("SC_OPEN_MAX")); os.execvp(sys.argv[1], sys.argv[1:])' "$@" </dev/null >/dev/null 2>&1
}

stop_slurm() {
    for d in slurmd slurmctld; do
        if [ -f "$dir/$d.pid" ]; then
            pid=$(cat "$dir/$d.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            rm -f "$dir/$d.pid"
        fi
    done
}

stop() {
    stop_slurm
    if [ -f "$dir/munged.started" ]; then
        # munged --stop waits until the daemon has gone; a plain SIGTERM was seen to leave it running.
        runuser -u munge -- /usr/sbin/munged --stop >/dev/null 2>&1 || pkill -9 -x munged 2>/dev/null || true
        rm -f "$dir/munged.started"
    fi
}

if [ "$cmd" = stop ]; then stop; exit 0; fi
[ "$cmd" = start ] || fail "unknown command '$cmd' (start or stop)"
[ "$(id -u)" -eq 0 ] || fail "needs root (slurmd runs jobs as their users)"
for p in munged slurmctld slurmd sbatch; do
    command -v "$p" >/dev/null || [ -x "/usr/sbin/$p" ] || fail "$p is missing: apt-get install slurm-wlm munge"
done

# munge: a key (the package makes one), its socket folder, the daemon as the munge user.
[ -f /etc/munge/munge.key ] || fail "/etc/munge/munge.key is missing (reinstall munge, or run mungekey -c as the munge user)"
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
if ! pgrep -x munged >/dev/null; then
    detached runuser -u munge -- /usr/sbin/munged || fail "munged did not start: $(tail -n 3 /var/log/munge/munged.log 2>/dev/null | tr '\n' ' ')"
    touch "$dir/munged.started"
fi
for _ in $(seq 1 50); do [ -S /run/munge/munge.socket.2 ] && break; sleep 0.1; done
echo probe | munge | unmunge >/dev/null 2>&1 || fail "munge does not work (munge | unmunge failed)"

# Free ports, so a second cluster (or another test run) does not collide.
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)
mkdir -p "$dir/state" "$dir/spool"
cat > "$dir/slurm.conf" <<EOF
ClusterName=dreamvideo
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldPort=$(port)
SlurmdPort=$(port)
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
SchedulerType=sched/backfill
MpiDefault=none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
KillWait=30
MinJobAge=3600
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=local Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF="$dir/slurm.conf"
stop_slurm
detached /usr/sbin/slurmctld -f "$dir/slurm.conf" -i || fail "slurmctld did not start: $(tail -n 3 "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
detached /usr/sbin/slurmd -f "$dir/slurm.conf" || fail "slurmd did not start: $(tail -n 3 "$dir/slurmd.log" 2>/dev/null | tr '\n' ' ')"
for _ in $(seq 1 100); do
    state=$(sinfo -h -N -o %t 2>/dev/null | head -n 1 || true)
    [ "$state" = idle ] && { echo "slurm-local: node $host idle ($cpus CPUs); export SLURM_CONF=$dir/slurm.conf"; exit 0; }
    sleep 0.2
done
fail "the node did not become idle (state '${state:-none}'): slurmd: $(tail -n 2 "$dir/slurmd.log" 2>/dev/null | tr '\n' ' ') slurmctld: $(tail -n 2 "$dir/slurmctld.log" 2>/dev/null | tr '\n' ' ')"
