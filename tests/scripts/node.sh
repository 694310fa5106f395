#!/usr/bin/env bash
# A one-node Kubernetes cluster on this machine for budgetgate's tests: the loopback control
# plane of controlplane.sh (plus the controllers a node needs), and a real node: containerd +
# runc + the CNI bridge plugin (Debian packages), kubelet, kube-proxy and kube-scheduler (built
# from the Go module proxy at the control plane's version by build-controlplane.sh --node).
# Pods run images imported from docker-archives (build-image.sh): nothing is pulled.
#
#   node.sh start DIR [--image ARCHIVE]...  start (or report the running node in DIR); waits until
#                                           the node is Ready and kube-proxy has synced
#   node.sh stop DIR                        stop everything started in DIR and restore the host
#   node.sh status DIR                      each process, node readiness; exit 0 only when Ready
#   node.sh import DIR ARCHIVE...           import docker-archives into the node's containerd
#   node.sh ctr DIR ARGS...                 run ctr against the node's containerd (namespace k8s.io)
#   node.sh cleanup                         restore the host after a node whose DIR is gone
#   node.sh --help
#
# DIR gets controlplane/ (controlplane.sh's DIR: kubeconfig, pki, logs), pki/ (node, kube-proxy,
# kube-scheduler certificates signed by the control plane's CA), containerd/, kubelet/, cni/,
# logs/ and env: controlplane.sh's variables plus NODE_NAME, NODE_IP, POD_CIDR, SERVICE_CIDR,
# NODE_BRIDGE, CONTAINERD_ADDRESS, NODE_DIR.
#
# Network: the node IP is the address of a bridge this script creates (NODE_BRIDGE, default
# bgnode0, on NODE_POD_CIDR, default 10.244.0.0/24); Pods get addresses on it and a route to the
# Service CIDR (10.96.0.0/16) only, no default route. Pods reach the API server (127.0.0.1)
# through the `kubernetes` Service address by a DNAT rule from the bridge (route_localnet on the
# bridge only); kube-proxy programs the other Services. Everything else listens on 127.0.0.1.
#
# The host is left as it was: `start` records the sysctls kubelet changes, iptables, links,
# routes, mounts and network namespaces (in /run/budgetgate-node), and `stop` stops every process
# by PID, removes Pods' network namespaces, mounts, the bridge, the route, every iptables chain
# and rule the node added (IPv4 and IPv6), the cgroups, the directories it created, restores the
# sysctls, and then compares the host with the record (exit 1 if anything differs).
# One node per machine at a time (the iptables rules are machine-wide): a second `start` waits
# for the first node's `stop` (NODE_SLOT_TIMEOUT seconds, default 1800).
# Needs root, cgroup v1 (this machine's; cgroup v2 is refused with a message), and the Debian
# packages of tests/scripts/setup-deps.sh.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
STATE="${NODE_STATE_DIR:-/run/budgetgate-node}"
SLOT_LOCK="/tmp/budgetgate-node.lock"
SLOT_TIMEOUT="${NODE_SLOT_TIMEOUT:-1800}"
READY_TIMEOUT="${NODE_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${NODE_STOP_TIMEOUT:-15}"
NODE_NAME="budgetgate-node"
BRIDGE="${NODE_BRIDGE:-bgnode0}"
POD_CIDR="${NODE_POD_CIDR:-10.244.0.0/24}"
SERVICE_CIDR="10.96.0.0/16"   # controlplane.sh's --service-cluster-ip-range
KUBERNETES_SERVICE_IP="10.96.0.1"
CGROUP_NAME="budgetgate-node"
NAT_CHAIN="BUDGETGATE-NODE"
# Controllers a node needs on top of controlplane.sh's: Service endpoints, node health (the
# not-ready taint), PodDisruptionBudgets for evictions, garbage collection of orphaned Pods.
EXTRA_CONTROLLERS="endpoints-controller,endpointslice-controller,node-lifecycle-controller,taint-eviction-controller,disruption-controller,pod-garbage-collector-controller"
# kubelet sets these at start (kernel tunables it expects); they are put back once the node is
# Ready and at stop. route_localnet/ip_forward are recorded to prove they are left alone.
SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes net.ipv4.ip_forward
  net.ipv4.conf.all.route_localnet net.ipv4.conf.all.forwarding
  net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables)
# Host directories the node's components may create outside DIR: removed at stop when they did
# not exist before start (only what the node put there otherwise).
HOST_DIRS=(/run/containerd /run/netns /var/lib/cni /var/log/containers /var/log/pods
  /var/lib/kubelet /var/lib/containerd /opt/containerd /etc/cni /opt/cni /etc/kubernetes)
PROCESSES=(containerd kubelet kube-proxy kube-scheduler)
LAUNCHED=()

log() { printf '[node %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
now_ms() { date +%s%3N; }
since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%d' $((ms / 1000)) $((ms % 1000 / 100)); }

# ---------------------------------------------------------------------------------------------
# addresses

# cidr_host CIDR N: the Nth address of an IPv4 /24 (or larger) network.
cidr_host() {
  python3 -c 'import ipaddress, sys
n = ipaddress.ip_network(sys.argv[1], strict=True)
if n.version != 4 or n.prefixlen > 24: sys.exit("NODE_POD_CIDR must be an IPv4 network of /24 or larger")
print(n.network_address + int(sys.argv[2]))' "$1" "$2"
}
NODE_IP="$(cidr_host "$POD_CIDR" 1)" || die "invalid NODE_POD_CIDR '$POD_CIDR'"
POD_PREFIX="${POD_CIDR#*/}"

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# ---------------------------------------------------------------------------------------------
# processes (pid files in $STATE/pids, so that `cleanup` finds them even when DIR is gone)

pidfile() { echo "$STATE/pids/$1.pid"; }

alive() {
  local f pid exe state
  f="$(pidfile "$1")"
  [ -f "$f" ] || return 1
  pid="$(cat "$f")"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  state="$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)"
  [ "$state" != "Z" ] || return 1
  exe="$(tr '\0' '\n' <"/proc/$pid/cmdline" 2>/dev/null | sed -n 1p)"
  [ "$(basename -- "$exe")" = "$1" ]
}

pid_of() { cat "$(pidfile "$1")" 2>/dev/null || true; }

# launch NAME BINARY ARGS...: start detached (own session, no inherited stdio or lock fds).
launch() {
  local name="$1" bin="$2" pid i
  shift 2
  printf '\n===== %s: %s %s\n' "$(date -u +%FT%TZ)" "$bin" "$*" >>"$DIR/logs/$name.log"
  setsid "$bin" "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 7>&- 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$(pidfile "$name")"
  LAUNCHED+=("$name")
  for i in $(seq 1 100); do
    alive "$name" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
    : "$i"
  done
  log "started $name (pid $pid, log $DIR/logs/$name.log)"
}

# terminate NAME: TERM, wait STOP_TIMEOUT, then KILL.
terminate() {
  local name="$1" pid deadline
  if ! alive "$name"; then
    rm -f "$(pidfile "$name")"
    return 0
  fi
  pid="$(pid_of "$name")"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + STOP_TIMEOUT))
  while alive "$name" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  if alive "$name"; then
    log "$name (pid $pid) still running after ${STOP_TIMEOUT}s; sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    deadline=$((SECONDS + 5))
    while alive "$name" && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.1; done
  fi
  alive "$name" && { log "$name (pid $pid) survived KILL"; return 1; }
  rm -f "$(pidfile "$name")"
  log "stopped $name (pid $pid)"
}

tail_log() {
  log "last lines of $DIR/logs/$1.log:"
  tail -n "${2:-30}" "$DIR/logs/$1.log" >&2 || true
}

# ---------------------------------------------------------------------------------------------
# the machine-wide slot: $STATE/owner holds the DIR of the node that owns the host changes

owner() { cat "$STATE/owner" 2>/dev/null || true; }
owner_alive() { local n; for n in "${PROCESSES[@]}"; do alive "$n" && return 0; done; return 1; }

# take_slot: wait until no other node runs on this machine; a dead node's leftovers are cleaned.
take_slot() {
  local t0=$SECONDS other next_log=0
  while :; do
    exec 9>"$SLOT_LOCK"
    flock 9
    other="$(owner)"
    if [ -z "$other" ] || [ "$other" = "$DIR" ]; then
      break
    fi
    if ! owner_alive; then
      log "the node of $other is not running any more: restoring the host from its record first"
      restore_host "$other" || die "could not clean up after the node of $other; see above"
      break
    fi
    exec 9>&-
    [ $((SECONDS - t0)) -lt "$SLOT_TIMEOUT" ] ||
      die "another node ($other) still runs after ${SLOT_TIMEOUT}s; stop it with: $0 stop $other"
    if [ "$SECONDS" -ge "$next_log" ]; then
      log "another node runs on this machine ($other); waiting for it to stop (one node at a time: iptables is machine-wide)"
      next_log=$((SECONDS + 60))
    fi
    sleep 2
  done
  mkdir -p "$STATE/pids"
  echo "$DIR" >"$STATE/owner"
  exec 9>&-
}

# ---------------------------------------------------------------------------------------------
# the host record

nft_tables() { nft list tables 2>/dev/null | sort || true; }

# remove_new_tables: the nftables tables iptables-nft created for the node's rules (none of
# them existed before), once empty: only base chains without rules are left.
remove_new_tables() {
  local family name rest
  [ -f "$STATE/host/nft.tables" ] || return 0
  nft_tables | while read -r _ family name rest; do
    grep -qx "table $family $name" "$STATE/host/nft.tables" && continue
    if nft list table "$family" "$name" 2>/dev/null |
      grep -Ev '^[[:space:]]*(table .*\{|chain .*\{|type .*;|\}|)$' | grep -q .; then
      log "nftables table $family $name was created during the node's run and still has rules: left in place"
    else
      nft delete table "$family" "$name" && log "removed the empty nftables table $family $name (created for the node's iptables rules)"
    fi
    : "$rest"
  done
}

netns_list() { find /run/netns -mindepth 1 -maxdepth 1 -printf '%f\n' 2>/dev/null | sort || true; }

ipt_save() {
  # Rules and chains without counters or comments, sorted (order within a table is kept by
  # the sort key being stable enough for a comparison of sets of rules).
  "$1" 2>/dev/null | sed -e '/^#/d' -e 's/ \[[0-9]*:[0-9]*\]$//' || true
}

host_state() {
  echo "## links"; ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//' | sort
  echo "## addresses"; ip -o addr show | awk '{print $2, $3, $4}' | sort
  echo "## routes"; ip route show table all | sort; ip -6 route show table all | sort
  echo "## iptables"; ipt_save iptables-save
  echo "## ip6tables"; ipt_save ip6tables-save
  echo "## nftables tables"; nft_tables
  # Only where the node mounts (builds elsewhere on the machine mount and unmount all the time).
  echo "## mounts"; awk -v d="${DIR:-/nonexistent}" '$5 == d || index($5, d "/") == 1 ||
    $5 ~ "^/(run|var/run)/(netns|containerd)(/|$)" || $5 ~ "^/var/lib/(kubelet|containerd|cni)(/|$)" ||
    $5 ~ "^/sys/fs/cgroup/" {print $5}' /proc/self/mountinfo | sort
  echo "## netns"; netns_list
  echo "## sysctls"; for s in "${SYSCTLS[@]}"; do printf '%s = %s\n' "$s" "$(sysctl -n "$s" 2>/dev/null || echo '(none)')"; done
  echo "## cgroups"; ls -d /sys/fs/cgroup/*/"$CGROUP_NAME" 2>/dev/null || true
  echo "## dirs"; for d in "${HOST_DIRS[@]}"; do [ -e "$d" ] && echo "$d"; done; true
}

record_host() {
  mkdir -p "$STATE/host"
  host_state >"$STATE/host/state"
  local s d
  : >"$STATE/host/sysctls"
  for s in "${SYSCTLS[@]}"; do
    if v="$(sysctl -n "$s" 2>/dev/null)"; then printf '%s=%s\n' "$s" "$v" >>"$STATE/host/sysctls"; fi
  done
  : >"$STATE/host/dirs"
  for d in "${HOST_DIRS[@]}"; do [ -e "$d" ] && echo "$d" >>"$STATE/host/dirs"; done
  netns_list >"$STATE/host/netns"
  nft_tables >"$STATE/host/nft.tables"
  for t in iptables ip6tables; do
    "$t-save" 2>/dev/null | awk '/^\*/ {t=substr($1,2)} /^:/ {print t, substr($1,2)}' >"$STATE/host/$t.chains" || true
  done
}

restore_sysctls() {
  local line key value
  [ -f "$STATE/host/sysctls" ] || return 0
  while IFS= read -r line; do
    key="${line%%=*}"
    value="${line#*=}"
    if [ "$(sysctl -n "$key" 2>/dev/null)" != "$value" ]; then
      sysctl -q -w "$key=$value" >/dev/null && log "restored $key = $value"
    fi
  done <"$STATE/host/sysctls"
}

# remove_chains TOOL: delete every chain the node created (not in the record) in every table,
# with the rules elsewhere that jump to them.
remove_chains() {
  local tool="$1" table chain rule
  local recorded="$STATE/host/$tool.chains"
  [ -f "$recorded" ] || return 0
  "$tool-save" 2>/dev/null | awk '/^\*/ {t=substr($1,2)} /^:/ {print t, substr($1,2)}' |
    while read -r table chain; do
      grep -qx "$table $chain" "$recorded" && continue
      # Rules in any chain of this table that jump to it (-j or -g).
      "$tool" -t "$table" -S 2>/dev/null | grep -E -- "^-A .* -[jg] $chain( |\$)" |
        while IFS= read -r rule; do
          # shellcheck disable=SC2086  # the rule is split back into its words on purpose
          eval "$tool -w -t $table ${rule/#-A/-D}" 2>/dev/null || true
        done
      echo "$table $chain"
    done >"$STATE/host/$tool.created"
  while read -r table chain; do
    "$tool" -w -t "$table" -F "$chain" 2>/dev/null || true
  done <"$STATE/host/$tool.created"
  while read -r table chain; do
    "$tool" -w -t "$table" -X "$chain" 2>/dev/null || log "could not delete $tool chain $table/$chain"
  done <"$STATE/host/$tool.created"
  local n
  n="$(wc -l <"$STATE/host/$tool.created")"
  [ "$n" = 0 ] || log "removed $n $tool chains the node created"
}

# unmount_under PATH: every mount at or below PATH, deepest first.
unmount_under() {
  local base="$1" m
  [ -n "$base" ] || return 0
  awk -v b="$base" '$5 == b || index($5, b "/") == 1 {print $5}' /proc/self/mountinfo | sort -r |
    while IFS= read -r m; do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || log "cannot unmount $m"
    done
}

cgroup_dirs() { ls -d /sys/fs/cgroup/*/"$CGROUP_NAME" 2>/dev/null || true; }
# The mounted cgroup v1 hierarchies (cpu and cpuacct may be separate, name=systemd is one too).
cgroup_mounts() { grep ' - cgroup ' /proc/self/mountinfo | awk '{print $5}' | sort -u; }

make_cgroups() {
  local m
  for m in $(cgroup_mounts); do
    [ -d "$m/$CGROUP_NAME" ] && continue
    mkdir "$m/$CGROUP_NAME"
    # A new cpuset starts empty; its Pods' cgroups below copy from it.
    if [ -f "$m/cpuset.cpus" ]; then
      cat "$m/cpuset.cpus" >"$m/$CGROUP_NAME/cpuset.cpus"
      cat "$m/cpuset.mems" >"$m/$CGROUP_NAME/cpuset.mems"
    fi
  done
}

remove_cgroups() {
  local d
  for d in $(cgroup_dirs); do
    # Depth first; a cgroup with processes left cannot be removed (and is reported).
    find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
    [ ! -d "$d" ] || log "cannot remove cgroup $d (processes left: $(tr '\n' ' ' <"$d/cgroup.procs" 2>/dev/null))"
  done
}

# kill_shims NODEDIR: containerd's shims outlive it; end the ones of this node by their pid files.
kill_shims() {
  local d="$1" f pid
  [ -d "$d/containerd/state" ] || return 0
  for f in "$d"/containerd/state/io.containerd.runtime.v2.task/*/*/shim.pid; do
    [ -f "$f" ] || continue
    pid="$(cat "$f")"
    if [ -n "$pid" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q "containerd-shim"; then
      kill -KILL "$pid" 2>/dev/null && log "killed containerd shim (pid $pid)"
    fi
  done
}

# restore_host NODEDIR: undo everything the node changed outside its processes.
restore_host() {
  local d="$1" ok=0 link ns dir
  # Processes first (by pid file): containers, shims, components.
  for n in kube-scheduler kube-proxy kubelet; do terminate "$n" || ok=1; done
  if [ -n "$d" ] && [ -S "$d/containerd/containerd.sock" ] && alive containerd; then
    kill_tasks "$d"
  fi
  terminate containerd || ok=1
  [ -z "$d" ] || kill_shims "$d"
  # Leftover container processes are in the node's cgroups: end them by pid.
  local pids
  pids="$(find /sys/fs/cgroup/pids/"$CGROUP_NAME" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u || true)"
  if [ -n "$pids" ]; then
    log "killing container processes left in the node's cgroups: $(echo "$pids" | tr '\n' ' ')"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
    sleep 0.5
  fi
  # Pod network namespaces the node created (pinned by bind mounts in /run/netns).
  if [ -d /run/netns ]; then
    for ns in $(netns_list); do
      grep -qx "$ns" "$STATE/host/netns" 2>/dev/null && continue
      case "$ns" in cni-*) ;; *) continue ;; esac
      umount "/run/netns/$ns" 2>/dev/null || umount -l "/run/netns/$ns" 2>/dev/null || true
      rm -f "/run/netns/$ns" && log "removed network namespace $ns"
    done
  fi
  [ -z "$d" ] || unmount_under "$d"
  # The bridge and whatever veth is still attached to it; the Service route goes with it.
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    for link in $(ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'); do
      ip link del "$link" 2>/dev/null || true
    done
    ip link del "$BRIDGE" && log "removed bridge $BRIDGE"
  fi
  ip route del "$SERVICE_CIDR" 2>/dev/null || true
  # iptables: kube-proxy's own cleanup, then every chain the node created and the jumps to them.
  local bin
  bin="$("$HERE/build-controlplane.sh" --node --bin-dir)"
  if [ -x "$bin/kube-proxy" ] && [ -f "$STATE/host/iptables.chains" ]; then
    "$bin/kube-proxy" --cleanup >/dev/null 2>&1 || true
  fi
  iptables -w -t nat -D PREROUTING -i "$BRIDGE" -j "$NAT_CHAIN" 2>/dev/null || true
  remove_chains iptables
  remove_chains ip6tables
  remove_new_tables
  restore_sysctls
  remove_cgroups
  # Directories the node's components created outside DIR.
  for dir in "${HOST_DIRS[@]}"; do
    grep -qx "$dir" "$STATE/host/dirs" 2>/dev/null && continue
    [ -e "$dir" ] || continue
    case "$dir" in
      /var/log/containers)
        # kubelet's symlinks to the node's Pod logs (and nothing else: it did not exist before).
        find "$dir" -type l -delete 2>/dev/null || true
        rmdir "$dir" 2>/dev/null || log "left $dir: not empty" ;;
      /run/netns)
        rmdir "$dir" 2>/dev/null || log "left $dir: not empty" ;;
      *)
        # containerd's shim sockets, CNI's result cache: only the node's, as the directory is new.
        rm -rf "$dir" ;;
    esac
    [ -e "$dir" ] || log "removed $dir (created by the node)"
  done
  # The comparison with the record.
  if [ -f "$STATE/host/state" ]; then
    host_state >"$STATE/host/state.after"
    if diff -u "$STATE/host/state" "$STATE/host/state.after" >"$STATE/host/diff"; then
      log "host restored: links, addresses, routes, iptables, ip6tables, mounts, network namespaces, sysctls, cgroups and directories are as before the node"
    else
      log "the host differs from its record before the node started:"
      sed -n '3,$p' "$STATE/host/diff" >&2
      ok=1
    fi
  fi
  if [ "$ok" = 0 ]; then
    rm -rf "$STATE"
  fi
  return "$ok"
}

# kill_tasks NODEDIR: every container of the node, through containerd (before it stops).
kill_tasks() {
  local d="$1" id
  local c=(ctr --address "$d/containerd/containerd.sock" -n k8s.io)
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks kill -a -s SIGKILL "$id" >/dev/null 2>&1 || true
  done
  sleep 0.5
  for id in $("${c[@]}" tasks ls -q 2>/dev/null); do
    "${c[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
  done
}

# ---------------------------------------------------------------------------------------------
# certificates and configuration

sign() {
  # sign NAME SUBJECT EKU [SAN]: key + certificate signed by the control plane's CA.
  local name="$1" subject="$2" eku="$3" san="${4:-}" ext
  [ -f "$DIR/pki/$name.crt" ] && return 0
  ext="$DIR/pki/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$DIR/pki/$name.key" -subj "$subject" \
    -out "$DIR/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/pki/$name.csr" -CA "$CA_CERT" -CAkey "$CA_KEY" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile "$ext" \
    -out "$DIR/pki/$name.crt" 2>/dev/null
  rm -f "$DIR/pki/$name.csr" "$ext"
}

kubeconfig() {
  # kubeconfig FILE USER CERT-NAME
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: budgetgate-test
  cluster:
    server: $APISERVER_URL
    certificate-authority: $CA_CERT
users:
- name: $2
  user:
    client-certificate: $DIR/pki/$3.crt
    client-key: $DIR/pki/$3.key
contexts:
- name: default
  context: {cluster: budgetgate-test, user: $2}
current-context: default
EOF
  chmod 600 "$1"
}

write_configs() {
  mkdir -p "$DIR/pki" "$DIR/cni/net.d" "$DIR/cni/ipam" "$DIR/kubelet" "$DIR/logs/pods" \
    "$DIR/containerd"
  chmod 700 "$DIR/pki"
  sign kubelet "/O=system:nodes/CN=system:node:$NODE_NAME" clientAuth
  sign kubelet-serving "/CN=$NODE_NAME" serverAuth "IP:$NODE_IP,DNS:$NODE_NAME"
  sign kube-proxy "/CN=system:kube-proxy" clientAuth
  sign kube-scheduler "/CN=system:kube-scheduler" clientAuth
  kubeconfig "$DIR/kubelet.kubeconfig" "system:node:$NODE_NAME" kubelet
  kubeconfig "$DIR/kube-proxy.kubeconfig" system:kube-proxy kube-proxy
  kubeconfig "$DIR/kube-scheduler.kubeconfig" system:kube-scheduler kube-scheduler

  cat >"$DIR/containerd/config.toml" <<EOF
# containerd for the test node: private root, state and sockets under $DIR/containerd.
version = 2
root = "$DIR/containerd/root"
state = "$DIR/containerd/state"
oom_score = 0
# No /opt/containerd, no snapshotters this node does not use.
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$DIR/containerd/containerd.sock"
[ttrpc]
  address = "$DIR/containerd/containerd.sock.ttrpc"
[debug]
  address = ""
  level = "info"
[metrics]
  address = ""

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # This VM drops CAP_SYS_RESOURCE from root's bounding set: without this every sandbox fails
  # ("nsexec: failed to update /proc/self/oom_score_adj: Permission denied").
  restrict_oom_score_adj = true
  disable_apparmor = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_tls_streaming = false
  # Pods' network namespaces pinned under the state directory, not in /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$DIR/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni/net.d"
    max_conf_num = 1
EOF

  cat >"$DIR/cni/net.d/10-budgetgate-node.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "budgetgate-node",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": false,
      "isDefaultGateway": false,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$DIR/cni/ipam",
        "ranges": [[{"subnet": "$POD_CIDR", "rangeStart": "$(cidr_host "$POD_CIDR" 10)", "gateway": "$NODE_IP"}]],
        "routes": [{"dst": "$SERVICE_CIDR", "gw": "$NODE_IP"}]
      }
    }
  ]
}
EOF

  cat >"$DIR/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
tlsCertFile: $DIR/pki/kubelet-serving.crt
tlsPrivateKeyFile: $DIR/pki/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $CA_CERT}
authorization: {mode: Webhook}
containerRuntimeEndpoint: unix://$DIR/containerd/containerd.sock
imageServiceEndpoint: unix://$DIR/containerd/containerd.sock
cgroupDriver: cgroupfs
cgroupRoot: /$CGROUP_NAME
failSwapOn: false
# Lowering its own oom_score_adj needs CAP_SYS_RESOURCE, which this VM does not give root.
oomScoreAdj: 0
podLogsDir: $DIR/logs/pods
# No cluster DNS and no resolver from the host: Pods use addresses only.
resolvConf: ""
clusterDomain: cluster.local
# Images cannot be pulled again: never collect them; and no evictions on a busy test machine.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 50Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
maxPods: 50
nodeStatusReportFrequency: 10s
EOF

  cat >"$DIR/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $DIR/kube-proxy.kubeconfig}
hostnameOverride: $NODE_NAME
mode: iptables
bindAddress: 127.0.0.1
healthzBindAddress: 127.0.0.1:$PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$PROXY_METRICS_PORT
clusterCIDR: $POD_CIDR
nodePortAddresses: ["$NODE_IP/32"]
oomScoreAdj: 0
# 0: leave the host's conntrack sysctls alone.
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
iptables: {localhostNodePorts: false, minSyncPeriod: 0s, syncPeriod: 30s}
EOF
}

write_env() {
  {
    cat "$DIR/controlplane/env"
    cat <<EOF
export NODE_DIR='$DIR'
export NODE_NAME='$NODE_NAME'
export NODE_IP='$NODE_IP'
export NODE_BRIDGE='$BRIDGE'
export POD_CIDR='$POD_CIDR'
export SERVICE_CIDR='$SERVICE_CIDR'
export CONTAINERD_ADDRESS='$DIR/containerd/containerd.sock'
export KUBELET_HEALTHZ_PORT='$KUBELET_HEALTHZ_PORT'
export PROXY_HEALTHZ_PORT='$PROXY_HEALTHZ_PORT'
export PROXY_METRICS_PORT='$PROXY_METRICS_PORT'
export SCHEDULER_PORT='$SCHEDULER_PORT'
EOF
  } >"$DIR/env.tmp"
  mv "$DIR/env.tmp" "$DIR/env"
}

env_value() {
  [ -f "$DIR/env" ] || return 0
  sed -n "s/^export $1='\{0,1\}\([^']*\)'\{0,1\}\$/\1/p" "$DIR/env" | tail -n 1
}

# ---------------------------------------------------------------------------------------------
# commands

# set_dir DIR [create]: resolve DIR and, when it holds a node (or one is being created), take
# its lock (one command per DIR at a time). Creates nothing in a DIR without a node.
set_dir() {
  [ -n "${1:-}" ] || { usage >&2; exit 2; }
  if [ "${2:-}" = create ]; then mkdir -p "$1/logs"; fi
  [ -d "$1" ] || die "no such directory: $1"
  DIR="$(cd "$1" && pwd)"
  if [ "${2:-}" = create ] || [ -f "$DIR/env" ]; then
    exec 8>"$DIR/.node.lock"
    flock 8
  fi
}

preflight() {
  [ "$(id -u)" -eq 0 ] || die "needs root (network, mounts, cgroups)"
  local t
  for t in containerd containerd-shim-runc-v2 runc ctr iptables ip6tables nft ip sysctl openssl python3 flock kubectl; do
    command -v "$t" >/dev/null || die "$t not found: run tests/scripts/setup-deps.sh"
  done
  for t in bridge host-local loopback; do
    [ -x "/usr/lib/cni/$t" ] ||
      die "CNI plugin /usr/lib/cni/$t missing: run tests/scripts/setup-deps.sh (containernetworking-plugins)"
  done
  if ! cgroup_mounts | grep -q /memory || ! cgroup_mounts | grep -q '/cpu'; then
    die "cgroup v1 hierarchies (memory, cpu) not mounted under /sys/fs/cgroup: this script supports cgroup v1 only"
  fi
  [ "${#DIR}" -le 60 ] ||
    die "DIR path too long (${#DIR} characters, at most 60): unix socket paths below it must stay under 108"
}

ensure_images() {
  local out
  out="$("$HERE/build-image.sh" --pause-only)" || die "build-image.sh --pause-only failed"
  [ -n "$out" ] || die "build-image.sh --pause-only printed nothing"
  PAUSE_IMAGE="$(sed -n 's/^PAUSE_IMAGE=//p' <<<"$out")"
  PAUSE_ARCHIVE="$(sed -n 's/^PAUSE_IMAGE_ARCHIVE=//p' <<<"$out")"
}

import_images() {
  local a t0 out
  for a in "$@"; do
    [ -f "$a" ] || die "no such image archive: $a"
    t0=$(now_ms)
    out="$(ctr --address "$DIR/containerd/containerd.sock" -n k8s.io images import \
      --snapshotter overlayfs "$a" 2>&1)" || { echo "$out" >&2; die "ctr images import $a failed"; }
    log "imported $(awk '/^unpacking/ {print $2}' <<<"$out" | tr '\n' ' ')($(du -h "$a" | cut -f1)) in $(since "$t0") s"
  done
}

node_ready() {
  kubectl --kubeconfig "$KUBECONFIG" get node "$NODE_NAME" -o json 2>/dev/null | python3 -c '
import json, sys
n = json.load(sys.stdin)
ready = any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"].get("conditions", []))
tainted = any(t["key"].startswith("node.kubernetes.io/") for t in n["spec"].get("taints", []))
sys.exit(0 if ready and not tainted else 1)' 2>/dev/null
}

# wait_for WHAT DEADLINE CMD...: poll CMD; fail fast when a node process died.
wait_for() {
  local what="$1" deadline="$2" n
  shift 2
  until "$@"; do
    for n in ${LAUNCHED[@]+"${LAUNCHED[@]}"}; do
      if ! alive "$n"; then log "$n exited while waiting for $what"; tail_log "$n"; return 1; fi
    done
    [ "$(date +%s)" -lt "$deadline" ] || { log "timed out waiting for $what"; return 1; }
    sleep 0.2
  done
}

socket_up() { ctr --address "$DIR/containerd/containerd.sock" version >/dev/null 2>&1; }
proxy_synced() { curl -sf --max-time 2 "http://127.0.0.1:$PROXY_HEALTHZ_PORT/healthz" >/dev/null 2>&1; }

cmd_start() {
  local t0 images=() deadline n
  t0=$(now_ms)
  set_dir "$1" create
  shift
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --image) [ -n "${2:-}" ] || die "--image needs an archive"; images+=("$2"); shift ;;
      *) die "unknown argument '$1' for start" ;;
    esac
    shift
  done
  preflight
  if [ "$(owner)" = "$DIR" ] && [ -f "$DIR/env" ] && alive containerd && alive kubelet &&
    alive kube-proxy && alive kube-scheduler; then
    # shellcheck disable=SC1091
    . "$DIR/env"
    if node_ready; then
      [ "${#images[@]}" -eq 0 ] || import_images "${images[@]}"
      log "already running in $DIR (node $NODE_NAME Ready)"
      cat "$DIR/env"
      return 0
    fi
  fi
  take_slot
  if [ -f "$STATE/host/state" ]; then
    # A partial node of this DIR (a component died): clean up and start afresh.
    log "cleaning up a partial node in $DIR first"
    restore_host "$DIR" || die "could not restore the host; see above"
    mkdir -p "$STATE/pids"
    echo "$DIR" >"$STATE/owner"
  fi
  # From here on, a failure undoes what was done.
  trap 'rc=$?; if [ $rc -ne 0 ]; then log "start failed: stopping the node and restoring the host"; restore_host "$DIR" || true; "$HERE/controlplane.sh" stop "$DIR/controlplane" >/dev/null 2>&1 || true; fi' EXIT

  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    die "a link named $BRIDGE exists but no node owns it: remove it (ip link del $BRIDGE) or set NODE_BRIDGE"
  fi
  if ip -4 route show | grep -qE "^($POD_CIDR|$SERVICE_CIDR) "; then
    die "$POD_CIDR or $SERVICE_CIDR is already routed on this host; set NODE_POD_CIDR"
  fi
  record_host

  local bin
  "$HERE/build-controlplane.sh" --node || die "build-controlplane.sh --node failed"
  bin="$("$HERE/build-controlplane.sh" --node --bin-dir)"
  ensure_images

  CONTROLPLANE_EXTRA_CONTROLLERS="$EXTRA_CONTROLLERS" CONTROLPLANE_BIN_DIR="$bin" \
    "$HERE/controlplane.sh" start "$DIR/controlplane" >/dev/null ||
    die "control plane did not start (logs in $DIR/controlplane/logs)"
  # shellcheck disable=SC1091
  . "$DIR/controlplane/env"
  log "control plane ready after $(since "$t0") s"

  KUBELET_HEALTHZ_PORT="$(free_port)"
  PROXY_HEALTHZ_PORT="$(free_port)"
  PROXY_METRICS_PORT="$(free_port)"
  SCHEDULER_PORT="$(free_port)"
  write_configs
  write_env

  # Network: the bridge (the node's address), the Service route, the DNAT to the API server.
  ip link add "$BRIDGE" type bridge
  ip addr add "$NODE_IP/$POD_PREFIX" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  sysctl -q -w "net.ipv4.conf.$BRIDGE.route_localnet=1" >/dev/null
  ip route add "$SERVICE_CIDR" dev "$BRIDGE" src "$NODE_IP"
  iptables -w -t nat -N "$NAT_CHAIN"
  iptables -w -t nat -A "$NAT_CHAIN" -d "$KUBERNETES_SERVICE_IP/32" -p tcp --dport 443 \
    -m comment --comment "budgetgate test node: the kubernetes Service to the loopback API server" \
    -j DNAT --to-destination "127.0.0.1:$APISERVER_PORT"
  iptables -w -t nat -I PREROUTING 1 -i "$BRIDGE" -j "$NAT_CHAIN"
  log "bridge $BRIDGE $NODE_IP/$POD_PREFIX, route $SERVICE_CIDR, DNAT $KUBERNETES_SERVICE_IP:443 -> 127.0.0.1:$APISERVER_PORT"

  make_cgroups

  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  launch containerd "$(command -v containerd)" --config "$DIR/containerd/config.toml"
  wait_for "containerd's socket" "$deadline" socket_up || die "containerd did not start"
  import_images "$PAUSE_ARCHIVE" ${images[@]+"${images[@]}"}

  launch kubelet "$bin/kubelet" --config "$DIR/kubelet/config.yaml" \
    --kubeconfig "$DIR/kubelet.kubeconfig" --root-dir "$DIR/kubelet" \
    --hostname-override "$NODE_NAME" --node-ip "$NODE_IP" --v 1
  launch kube-proxy "$bin/kube-proxy" --config "$DIR/kube-proxy.yaml" --v 1
  launch kube-scheduler "$bin/kube-scheduler" --kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --authentication-kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --authorization-kubeconfig "$DIR/kube-scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$SCHEDULER_PORT" --leader-elect=false
  wait_for "node $NODE_NAME Ready" "$deadline" node_ready || die "node $NODE_NAME not Ready (logs in $DIR/logs)"
  wait_for "kube-proxy's first sync" "$deadline" proxy_synced || die "kube-proxy did not sync (log $DIR/logs/kube-proxy.log)"
  restore_sysctls
  trap - EXIT
  log "node $NODE_NAME ($K8S_VERSION) Ready in $(since "$t0") s: $DIR (KUBECONFIG=$KUBECONFIG)"
  cat "$DIR/env"
}

cmd_stop() {
  [ -n "${1:-}" ] || { usage >&2; exit 2; }
  if [ ! -d "$1" ]; then log "nothing to stop: no directory $1"; return 0; fi
  set_dir "$1"
  local t0 rc=0
  t0=$(now_ms)
  exec 9>"$SLOT_LOCK"
  flock 9
  if [ "$(owner)" != "$DIR" ]; then
    log "no node of $DIR owns this machine (owner: $(owner || true))"
  else
    # Pods first, through kubelet, so that their sandboxes are torn down by CNI as usual.
    if alive kubelet && [ -f "$DIR/env" ]; then
      # shellcheck disable=SC1091
      . "$DIR/env"
      terminate kube-scheduler || true
      if kubectl --kubeconfig "$KUBECONFIG" delete pods --all -A --force --grace-period=0 \
        --wait=false --request-timeout=10s >/dev/null 2>&1; then
        local deadline=$((SECONDS + 30))
        while [ -n "$(ctr --address "$DIR/containerd/containerd.sock" -n k8s.io tasks ls -q 2>/dev/null)" ] &&
          [ "$SECONDS" -lt "$deadline" ]; do sleep 0.5; done
      fi
    fi
    restore_host "$DIR" || rc=1
  fi
  exec 9>&-
  "$HERE/controlplane.sh" stop "$DIR/controlplane" >/dev/null 2>&1 || rc=1
  log "stopped the node in $DIR in $(since "$t0") s"
  return "$rc"
}

cmd_status() {
  set_dir "$1"
  [ -f "$DIR/env" ] || { log "no node in $DIR"; return 1; }
  # shellcheck disable=SC1091
  . "$DIR/env"
  local n ok=0
  [ "$(owner)" = "$DIR" ] || { log "  the machine's node slot is not held by $DIR"; ok=1; }
  for n in "${PROCESSES[@]}"; do
    if alive "$n"; then log "  $n: running (pid $(pid_of "$n"))"; else log "  $n: stopped"; ok=1; fi
  done
  "$HERE/controlplane.sh" status "$DIR/controlplane" || ok=1
  if node_ready; then log "  node $NODE_NAME Ready"; else log "  node $NODE_NAME not Ready"; ok=1; fi
  return "$ok"
}

cmd_import() {
  set_dir "$1"
  shift
  [ "$#" -gt 0 ] || die "import needs at least one docker-archive"
  alive containerd || die "the node in $DIR is not running"
  import_images "$@"
}

cmd_ctr() {
  if [ -z "${1:-}" ] || [ ! -d "$1" ]; then die "ctr needs the node's DIR"; fi
  local d
  d="$(cd "$1" && pwd)"
  shift
  exec ctr --address "$d/containerd/containerd.sock" -n k8s.io "$@"
}

cmd_cleanup() {
  exec 9>"$SLOT_LOCK"
  flock 9
  local d
  d="$(owner)"
  [ -n "$d" ] || [ -d "$STATE" ] || { log "nothing to clean up ($STATE is absent)"; return 0; }
  DIR="$d"
  log "restoring the host after the node of ${d:-(unknown)}"
  restore_host "$d"
}

case "${1:-}" in
  start) shift; [ "$#" -ge 1 ] || { usage >&2; exit 2; }; cmd_start "$@" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  import) shift; [ "$#" -ge 1 ] || { usage >&2; exit 2; }; cmd_import "$@" ;;
  ctr) shift; cmd_ctr "$@" ;;
  cleanup) cmd_cleanup ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
