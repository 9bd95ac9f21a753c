#!/usr/bin/env bash
# One-node SLURM cluster on localhost for testing the slurm/ scripts (slurm/README.md).
#
#   scripts/slurm_local.sh [start]   install if missing, start munged, slurmctld, slurmd; wait for idle
#   scripts/slurm_local.sh stop      stop the daemons by the PIDs in their pid files
#   scripts/slurm_local.sh status    sinfo / squeue
#   eval "$(scripts/slurm_local.sh env)"   export SLURM_CONF for sbatch/srun/sinfo in this shell
#
# Environment: SLURM_LOCAL_BASE (default /tmp/slurm-local), SLURM_LOCAL_CPUS (CPUs declared for the
# node, default: the core count; more than the cores is allowed, e.g. 4 for 4-rank jobs on 2 cores).
# No systemd and no cgroups are needed (proctrack/linuxproc, task/none). Run as root.
set -euo pipefail

BASE=${SLURM_LOCAL_BASE:-/tmp/slurm-local}
CONF=$BASE/slurm.conf
MUNGE_PID=/run/munge/munged.pid
CPUS=${SLURM_LOCAL_CPUS:-$(nproc)}

alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

install_if_missing() {
    local missing=()
    for p in slurmctld slurmd slurm-client munge; do
        [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] || missing+=("$p")
    done
    if [[ ${#missing[@]} -gt 0 ]]; then
        echo "slurm_local: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        # apt prints "policy-rc.d denied execution of start": the daemons are started below.
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

write_conf() {
    mkdir -p "$BASE"/{state,spool,run,log}
    local mem
    mem=$(awk '/MemTotal/ {printf "%d", $2 / 1024 * 0.95}' /proc/meminfo)
    cat > "$CONF" <<CONF
ClusterName=local
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
SlurmctldPort=6817
SlurmdPort=6818
StateSaveLocation=$BASE/state
SlurmdSpoolDir=$BASE/spool
SlurmctldPidFile=$BASE/run/slurmctld.pid
SlurmdPidFile=$BASE/run/slurmd.pid
SlurmctldLogFile=$BASE/log/slurmctld.log
SlurmdLogFile=$BASE/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=pmix
MailProg=/bin/true
ReturnToService=2
SlurmdTimeout=60
InactiveLimit=0
KillWait=5
MinJobAge=300
MaxArraySize=10001
SlurmdParameters=config_overrides
NodeName=localhost NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
CONF
}

start() {
    [[ $(id -u) -eq 0 ]] || { echo "slurm_local: run as root" >&2; exit 1; }
    install_if_missing
    if alive "$BASE/run/slurmctld.pid" && alive "$BASE/run/slurmd.pid"; then
        echo "slurm_local: already running (stop first to reconfigure)"
    else
        write_conf
        install -d -o munge -g munge -m 0755 /run/munge
        install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
        [[ -f /etc/munge/munge.key ]] || mungekey --create
        if ! alive "$MUNGE_PID"; then
            runuser -u munge -- /usr/sbin/munged --pid-file="$MUNGE_PID"
        fi
        munge -n | unmunge >/dev/null
        export SLURM_CONF=$CONF
        alive "$BASE/run/slurmctld.pid" || /usr/sbin/slurmctld -f "$CONF"
        # -N: the machine's hostname differs from the node name "localhost".
        alive "$BASE/run/slurmd.pid" || /usr/sbin/slurmd -f "$CONF" -N localhost
    fi
    export SLURM_CONF=$CONF
    local deadline=$((SECONDS + 60)) state=""
    until state=$(sinfo -h -N -o %T 2>/dev/null) && [[ "$state" == idle || "$state" == mixed || "$state" == allocated ]]; do
        if [[ $SECONDS -ge $deadline ]]; then
            echo "slurm_local: node not idle after 60 s (state '${state}'); see $BASE/log/" >&2
            exit 1
        fi
        sleep 0.2
    done
    # The node's CPUs as slurmd declared them (an already running cluster keeps its own count).
    local cpus
    cpus=$(scontrol show node -o 2>/dev/null | sed -n 's/.*CPUTot=\([0-9]*\).*/\1/p' | head -1)
    echo "slurm_local: up, node state $state, ${cpus:-$CPUS} CPU(s). In your shell: export SLURM_CONF=$CONF"
}

stop() {
    local f pid
    for f in "$BASE/run/slurmd.pid" "$BASE/run/slurmctld.pid" "$MUNGE_PID"; do
        if alive "$f"; then
            pid=$(cat "$f")
            kill -TERM "$pid"
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            echo "slurm_local: stopped $(basename "$f" .pid) (pid $pid)"
        fi
    done
}

case "${1:-start}" in
    start) start ;;
    stop) stop ;;
    status)
        command -v sinfo > /dev/null || { echo "slurm_local: SLURM is not installed (run: $0 start)" >&2; exit 1; }
        export SLURM_CONF=$CONF; sinfo; squeue ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    -h|--help|help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [start|stop|status|env]" >&2; exit 2 ;;
esac
