#!/usr/bin/env bash
# A real Kubernetes control plane on loopback for budgetgate's tests: etcd, kube-apiserver and
# kube-controller-manager (no kubelet, no scheduler: pods stay Pending).
#
#   controlplane.sh start DIR              start (or report the running plane in DIR); waits until ready
#   controlplane.sh stop DIR               stop what was started in DIR (TERM, then KILL); idempotent
#   controlplane.sh status DIR             print each process and readiness; exit 0 only when ready
#   controlplane.sh restart-apiserver DIR  stop and start kube-apiserver only (same port, same etcd)
#
# DIR gets (once) pki/ (CA, apiserver serving cert for 127.0.0.1/localhost, admin client cert
# CN=admin,O=system:masters, kube-controller-manager client cert, service-account key pair),
# kubeconfig (admin, certificates embedded), kcm.kubeconfig, etcd/ (data), logs/*.log, pids/,
# and env: shell-sourceable `export K=V` lines with KUBECONFIG, APISERVER_URL, APISERVER_PORT,
# ETCD_URL, ETCD_PORT, ETCD_PEER_PORT, KCM_PORT, ETCD_PID, APISERVER_PID, KCM_PID, CA_CERT,
# CA_KEY, ADMIN_CERT, ADMIN_KEY, SA_KEY, SA_PUB, CONTROLPLANE_DIR, K8S_VERSION.
# A stopped plane keeps its etcd data, certificates and ports: `start` again resumes it.
#
# Ports: free loopback ports in 20000-32000 (below Linux's ephemeral range), reused from DIR/env
# when still free; fixed with CONTROLPLANE_ETCD_PORT, CONTROLPLANE_ETCD_PEER_PORT,
# CONTROLPLANE_APISERVER_PORT, CONTROLPLANE_KCM_PORT.  Several planes in different DIRs can run at
# once.  Everything listens on 127.0.0.1 only.
# Other knobs: CONTROLPLANE_READY_TIMEOUT (s, default 120), CONTROLPLANE_STOP_TIMEOUT (s, 15),
# CONTROLPLANE_BIN_DIR (default: build-controlplane.sh --bin-dir; built there when missing),
# CONTROLPLANE_CONTROLLERS (kube-controller-manager --controllers), CONTROLPLANE_EXTRA_CONTROLLERS
# (appended to them: a node adds the endpoint, node-lifecycle and disruption controllers),
# CONTROLPLANE_APISERVER_ARGS and CONTROLPLANE_KCM_ARGS (extra flags, split on spaces).
# Kubelets (tests/scripts/node.sh) are reached at their InternalIP with the client certificate
# pki/apiserver-kubelet-client.crt, and their serving certificates are checked against pki/ca.crt.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
READY_TIMEOUT="${CONTROLPLANE_READY_TIMEOUT:-120}"
STOP_TIMEOUT="${CONTROLPLANE_STOP_TIMEOUT:-15}"
SERVICE_CIDR="10.96.0.0/16"
SERVICE_IP="10.96.0.1" # first address of SERVICE_CIDR: the `kubernetes` Service
CONTROLLERS="${CONTROLPLANE_CONTROLLERS:-deployment-controller,replicaset-controller,serviceaccount-controller,serviceaccount-token-controller,namespace-controller,garbage-collector-controller,root-ca-certificate-publisher-controller,clusterrole-aggregation-controller}"
CONTROLLERS="$CONTROLLERS${CONTROLPLANE_EXTRA_CONTROLLERS:+,$CONTROLPLANE_EXTRA_CONTROLLERS}"
PORT_LOCK="/tmp/budgetgate-controlplane-ports.lock"
COMPONENTS=(etcd kube-apiserver kube-controller-manager)

log() { printf '[controlplane %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }
usage() { sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
now_ms() { date +%s%3N; }
since() { local ms=$(( $(now_ms) - $1 )); printf '%d.%01d' $((ms / 1000)) $((ms % 1000 / 100)); }

# ---------------------------------------------------------------------------------------------
# processes

pidfile() { echo "$DIR/pids/$1.pid"; }

# alive NAME: the recorded process runs (not a zombie) and is really NAME (guards pid reuse).
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

# launch NAME ARGS...: start BIN_DIR/NAME detached (own session, no inherited stdio or lock
# fds), appending to logs/NAME.log, and record its pid.
launch() {
  local name="$1" pid
  shift
  printf '\n===== %s: %s %s\n' "$(date -u +%FT%TZ)" "$name" "$*" >>"$DIR/logs/$name.log"
  setsid "$BIN_DIR/$name" "$@" </dev/null >>"$DIR/logs/$name.log" 2>&1 8>&- 9>&- &
  pid=$!
  echo "$pid" >"$(pidfile "$name")"
  # Until setsid has exec'd the binary, the pid's argv[0] is still bash/setsid.
  local i
  for i in $(seq 1 100); do
    alive "$name" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.02
    : "$i"
  done
  log "started $name (pid $pid, log $DIR/logs/$name.log)"
}

# terminate NAME: TERM, wait STOP_TIMEOUT, then KILL.  Quiet when not running.
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
    alive "$name" && die "$name (pid $pid) survived KILL"
  fi
  rm -f "$(pidfile "$name")"
  log "stopped $name (pid $pid)"
}

tail_log() {
  log "last lines of $DIR/logs/$1.log:"
  tail -n "${2:-30}" "$DIR/logs/$1.log" >&2 || true
}

# ---------------------------------------------------------------------------------------------
# ports

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && can_bind "$1"; }
can_bind() {
  # SO_REUSEADDR as Go's listeners set it: a port with only TIME_WAIT connections is free.
  python3 -c 'import socket,sys
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.close()' "$1" 2>/dev/null
}
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# pick_port OVERRIDE PREVIOUS TAKEN...: the override if set; else PREVIOUS if free; else a free
# random port in 20000-32000 not in TAKEN.
pick_port() {
  local override="$1" previous="$2" p i
  shift 2
  if [ -n "$override" ]; then echo "$override"; return; fi
  if [ -n "$previous" ] && ! in_list "$previous" "$@" && port_free "$previous"; then
    echo "$previous"; return
  fi
  for i in $(seq 1 200); do
    p=$((20000 + RANDOM % 12000))
    if ! in_list "$p" "$@" && port_free "$p"; then echo "$p"; return; fi
    : "$i"
  done
  die "no free loopback port found in 20000-32000"
}
in_list() { local x="$1" y; shift; for y in "$@"; do [ "$x" = "$y" ] && return 0; done; return 1; }

env_value() {
  [ -f "$DIR/env" ] || return 0
  sed -n "s/^export $1='\{0,1\}\([^']*\)'\{0,1\}\$/\1/p" "$DIR/env" | tail -n 1
}

# ---------------------------------------------------------------------------------------------
# certificates and kubeconfigs

# make_ca NAME CN: a self-signed CA key and certificate.
make_ca() {
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$DIR/pki/$1.key" -out "$DIR/pki/$1.crt" \
    -days 3650 -sha256 -subj "/CN=$2" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign,digitalSignature" 2>/dev/null
}

# leaf NAME SUBJECT EKU [SAN] [CA]: a key and a certificate signed by pki/CA (default ca).
leaf() {
  local name="$1" subject="$2" eku="$3" san="${4:-}" ca="${5:-ca}" ext
  ext="$DIR/pki/$name.ext"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    echo "subjectKeyIdentifier=hash"
    echo "authorityKeyIdentifier=keyid"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$ext"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$DIR/pki/$name.key" -subj "$subject" \
    -out "$DIR/pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$DIR/pki/$name.csr" -CA "$DIR/pki/$ca.crt" -CAkey "$DIR/pki/$ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 3650 -sha256 -extfile "$ext" \
    -out "$DIR/pki/$name.crt" 2>/dev/null
  rm -f "$DIR/pki/$name.csr" "$ext"
}

make_pki() {
  if [ -f "$DIR/pki/.complete" ] && [ -f "$DIR/pki/front-proxy-client.crt" ]; then
    # Planes made before kubelets were supported lack only this certificate.
    [ -f "$DIR/pki/apiserver-kubelet-client.crt" ] ||
      leaf apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
    return 0
  fi
  local t0
  t0=$(now_ms)
  command -v openssl >/dev/null || die "openssl is needed"
  rm -rf "$DIR/pki"
  mkdir -p "$DIR/pki"
  chmod 700 "$DIR/pki"
  make_ca ca budgetgate-test-ca
  leaf apiserver "/CN=kube-apiserver" serverAuth \
    "IP:127.0.0.1,DNS:localhost,IP:$SERVICE_IP,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  leaf admin "/O=system:masters/CN=admin" clientAuth
  leaf kcm "/CN=system:kube-controller-manager" clientAuth
  # kube-apiserver's identity towards kubelets (logs, exec, port-forward).
  leaf apiserver-kubelet-client "/O=system:masters/CN=kube-apiserver-kubelet-client" clientAuth
  # Aggregation-layer front proxy, as in kubeadm clusters: without a request-header CA every
  # delegating component (kube-controller-manager's own authentication) logs errors forever.
  make_ca front-proxy-ca budgetgate-test-front-proxy-ca
  leaf front-proxy-client "/CN=front-proxy-client" clientAuth "" front-proxy-ca
  openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$DIR/pki/sa.key" 2>/dev/null
  openssl pkey -in "$DIR/pki/sa.key" -pubout -out "$DIR/pki/sa.pub" 2>/dev/null
  touch "$DIR/pki/.complete"
  log "generated CAs, apiserver/admin/kube-controller-manager/kubelet-client/front-proxy certificates and service-account keys in $(since "$t0")s"
}

b64() { base64 -w0 <"$1"; }

# kubeconfig FILE USER CERT KEY
write_kubeconfig() {
  cat >"$1.tmp" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: budgetgate-test
  cluster:
    server: https://127.0.0.1:$APISERVER_PORT
    certificate-authority-data: $(b64 "$DIR/pki/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(b64 "$3")
    client-key-data: $(b64 "$4")
contexts:
- name: $2@budgetgate-test
  context:
    cluster: budgetgate-test
    user: $2
    namespace: default
current-context: $2@budgetgate-test
EOF
  chmod 600 "$1.tmp"
  mv "$1.tmp" "$1"
}

write_env() {
  cat >"$DIR/env.tmp" <<EOF
export CONTROLPLANE_DIR='$DIR'
export KUBECONFIG='$DIR/kubeconfig'
export APISERVER_URL='https://127.0.0.1:$APISERVER_PORT'
export APISERVER_PORT='$APISERVER_PORT'
export ETCD_URL='http://127.0.0.1:$ETCD_PORT'
export ETCD_PORT='$ETCD_PORT'
export ETCD_PEER_PORT='$ETCD_PEER_PORT'
export KCM_PORT='$KCM_PORT'
export ETCD_PID='$(pid_of etcd)'
export APISERVER_PID='$(pid_of kube-apiserver)'
export KCM_PID='$(pid_of kube-controller-manager)'
export CA_CERT='$DIR/pki/ca.crt'
export CA_KEY='$DIR/pki/ca.key'
export ADMIN_CERT='$DIR/pki/admin.crt'
export ADMIN_KEY='$DIR/pki/admin.key'
export SA_KEY='$DIR/pki/sa.key'
export SA_PUB='$DIR/pki/sa.pub'
export K8S_VERSION='$K8S_VERSION'
EOF
  mv "$DIR/env.tmp" "$DIR/env"
}

# ---------------------------------------------------------------------------------------------
# components

start_etcd() {
  mkdir -p "$DIR/etcd"
  chmod 700 "$DIR/etcd"
  # --unsafe-no-fsync: a throw-away test store; fsync latency would only slow the tests.
  launch etcd --name default --data-dir "$DIR/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "default=http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster-state new --unsafe-no-fsync --log-level warn
}

start_apiserver() {
  local extra=()
  # shellcheck disable=SC2206  # extra flags are split on spaces on purpose
  [ -z "${CONTROLPLANE_APISERVER_ARGS:-}" ] || extra=($CONTROLPLANE_APISERVER_ARGS)
  # --shutdown-send-retry-after: on TERM, answer new requests 429 + Retry-After until the
  # in-flight ones are done, then close with a 2 s grace instead of up to --request-timeout (60 s)
  # for open watches (kube-controller-manager's), so restart-apiserver takes seconds.
  # --endpoint-reconciler-type=none: the `kubernetes` Endpoints would carry the advertise
  # address, and 127.0.0.1 is refused there (loopback); nothing in this plane needs them.
  launch kube-apiserver \
    --etcd-servers "http://127.0.0.1:$ETCD_PORT" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$APISERVER_PORT" \
    --tls-cert-file "$DIR/pki/apiserver.crt" --tls-private-key-file "$DIR/pki/apiserver.key" \
    --client-ca-file "$DIR/pki/ca.crt" \
    --authorization-mode Node,RBAC \
    --enable-admission-plugins NamespaceLifecycle,ServiceAccount,MutatingAdmissionWebhook,ValidatingAdmissionWebhook,ValidatingAdmissionPolicy \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$DIR/pki/sa.pub" \
    --service-account-signing-key-file "$DIR/pki/sa.key" \
    --api-audiences https://kubernetes.default.svc.cluster.local \
    --requestheader-client-ca-file "$DIR/pki/front-proxy-ca.crt" \
    --requestheader-allowed-names front-proxy-client \
    --requestheader-username-headers X-Remote-User \
    --requestheader-group-headers X-Remote-Group \
    --requestheader-extra-headers-prefix X-Remote-Extra- \
    --proxy-client-cert-file "$DIR/pki/front-proxy-client.crt" \
    --proxy-client-key-file "$DIR/pki/front-proxy-client.key" \
    --endpoint-reconciler-type none \
    --kubelet-client-certificate "$DIR/pki/apiserver-kubelet-client.crt" \
    --kubelet-client-key "$DIR/pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority "$DIR/pki/ca.crt" \
    --kubelet-preferred-address-types InternalIP \
    --allow-privileged=true \
    --shutdown-send-retry-after=true \
    --profiling=false \
    ${extra[@]+"${extra[@]}"}
}

start_kcm() {
  local extra=()
  # shellcheck disable=SC2206  # extra flags are split on spaces on purpose
  [ -z "${CONTROLPLANE_KCM_ARGS:-}" ] || extra=($CONTROLPLANE_KCM_ARGS)
  # --use-service-account-credentials: each controller acts as its own service account with
  # the bootstrap RBAC roles, as in kubeadm clusters (the kcm identity alone may not create
  # ReplicaSets or Pods).
  launch kube-controller-manager \
    --kubeconfig "$DIR/kcm.kubeconfig" \
    --authentication-kubeconfig "$DIR/kcm.kubeconfig" \
    --authorization-kubeconfig "$DIR/kcm.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$KCM_PORT" \
    --leader-elect=false \
    --controllers "$CONTROLLERS" \
    --use-service-account-credentials=true \
    --service-account-private-key-file "$DIR/pki/sa.key" \
    --root-ca-file "$DIR/pki/ca.crt" \
    --service-cluster-ip-range "$SERVICE_CIDR" \
    --profiling=false \
    ${extra[@]+"${extra[@]}"}
}

# ---------------------------------------------------------------------------------------------
# readiness

api_get() {
  curl -s --max-time 3 --cacert "$DIR/pki/ca.crt" --cert "$DIR/pki/admin.crt" \
    --key "$DIR/pki/admin.key" "https://127.0.0.1:$APISERVER_PORT$1" 2>/dev/null
}

# wait_ready DEADLINE_EPOCH_S: /readyz ok, then (unless APISERVER_ONLY) namespace and service
# account `default`.  Fails fast when a component exits.
wait_ready() {
  local deadline="$1" name stage=readyz
  while :; do
    for name in "${COMPONENTS[@]}"; do
      if ! alive "$name"; then
        log "$name exited while waiting for the control plane"
        tail_log "$name"
        return 1
      fi
    done
    case "$stage" in
      readyz) [ "$(api_get /readyz)" = "ok" ] && stage=ns ;;
      ns) api_get /api/v1/namespaces/default | grep -q '"name": *"default"' && stage=sa ;;
      sa) if api_get /api/v1/namespaces/default/serviceaccounts/default | grep -q '"kind": *"ServiceAccount"'; then
            return 0
          fi ;;
    esac
    if [ "$(date +%s)" -ge "$deadline" ]; then
      case "$stage" in
        readyz)
          log "kube-apiserver not ready after ${READY_TIMEOUT}s; /readyz?verbose says:"
          api_get '/readyz?verbose' | grep -v '\[+\]' >&2 || true
          tail_log kube-apiserver ;;
        ns)
          log "namespace default missing after ${READY_TIMEOUT}s"
          tail_log kube-apiserver ;;
        sa)
          log "service account default/default missing after ${READY_TIMEOUT}s (created by kube-controller-manager)"
          tail_log kube-controller-manager ;;
      esac
      return 1
    fi
    sleep 0.2
  done
}

wait_apiserver_ready() {
  local deadline="$1"
  while :; do
    if ! alive kube-apiserver; then
      log "kube-apiserver exited while starting"
      tail_log kube-apiserver
      return 1
    fi
    [ "$(api_get /readyz)" = "ok" ] && return 0
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "kube-apiserver not ready after ${READY_TIMEOUT}s; /readyz?verbose says:"
      api_get '/readyz?verbose' | grep -v '\[+\]' >&2 || true
      tail_log kube-apiserver
      return 1
    fi
    sleep 0.2
  done
}

# wait_listening NAME PORT DEADLINE
wait_listening() {
  while ! listening "$2"; do
    if ! alive "$1"; then
      log "$1 exited before listening on 127.0.0.1:$2"
      tail_log "$1"
      return 1
    fi
    [ "$(date +%s)" -lt "$3" ] || { log "$1 not listening on 127.0.0.1:$2 in time"; tail_log "$1"; return 1; }
    sleep 0.1
  done
}

# ---------------------------------------------------------------------------------------------
# commands

# set_dir DIR [create]: resolve DIR and take its lock (one command per DIR at a time).
set_dir() {
  [ -n "${1:-}" ] || usage
  if [ "${2:-}" = create ]; then mkdir -p "$1"; fi
  [ -d "$1" ] || die "no such directory: $1"
  DIR="$(cd "$1" && pwd)"
  mkdir -p "$DIR/logs" "$DIR/pids"
  exec 8>"$DIR/.lock"
  flock 8
}

find_bins() {
  BIN_DIR="${CONTROLPLANE_BIN_DIR:-$("$HERE/build-controlplane.sh" --bin-dir)}"
  local b missing=0
  for b in "${COMPONENTS[@]}"; do [ -x "$BIN_DIR/$b" ] || missing=1; done
  if [ "$missing" = 1 ]; then
    [ -z "${CONTROLPLANE_BIN_DIR:-}" ] || die "CONTROLPLANE_BIN_DIR=$BIN_DIR lacks ${COMPONENTS[*]}"
    log "control-plane binaries missing: building them first (tests/scripts/build-controlplane.sh)"
    "$HERE/build-controlplane.sh" || die "build-controlplane.sh failed"
  fi
  K8S_VERSION="$("$BIN_DIR/kube-apiserver" --version | awk '{print $2}')"
}

load_ports() {
  ETCD_PORT="$(env_value ETCD_PORT)"
  ETCD_PEER_PORT="$(env_value ETCD_PEER_PORT)"
  APISERVER_PORT="$(env_value APISERVER_PORT)"
  KCM_PORT="$(env_value KCM_PORT)"
}

all_alive() { local n; for n in "${COMPONENTS[@]}"; do alive "$n" || return 1; done; }

report() {
  local n
  for n in "${COMPONENTS[@]}"; do
    if alive "$n"; then log "  $n: running (pid $(pid_of "$n"))"; else log "  $n: stopped"; fi
  done
  log "  etcd http://127.0.0.1:$ETCD_PORT (peer $ETCD_PEER_PORT), kube-apiserver https://127.0.0.1:$APISERVER_PORT, kube-controller-manager :$KCM_PORT"
  log "  KUBECONFIG=$DIR/kubeconfig; source $DIR/env"
}

cmd_start() {
  set_dir "$1" create
  local t0 deadline n
  t0=$(now_ms)
  find_bins
  if [ -f "$DIR/env" ] && all_alive; then
    load_ports
    if [ "$(api_get /readyz)" = "ok" ]; then
      log "already running in $DIR:"
      report
      cat "$DIR/env"
      return 0
    fi
  fi
  # Partially running (a component died): stop the rest and start all again.
  for n in kube-controller-manager kube-apiserver etcd; do terminate "$n"; done
  make_pki

  exec 9>"$PORT_LOCK"
  flock 9
  load_ports
  ETCD_PORT="$(pick_port "${CONTROLPLANE_ETCD_PORT:-}" "$ETCD_PORT")"
  ETCD_PEER_PORT="$(pick_port "${CONTROLPLANE_ETCD_PEER_PORT:-}" "$ETCD_PEER_PORT" "$ETCD_PORT")"
  APISERVER_PORT="$(pick_port "${CONTROLPLANE_APISERVER_PORT:-}" "$APISERVER_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT")"
  KCM_PORT="$(pick_port "${CONTROLPLANE_KCM_PORT:-}" "$KCM_PORT" "$ETCD_PORT" "$ETCD_PEER_PORT" "$APISERVER_PORT")"
  write_kubeconfig "$DIR/kubeconfig" admin "$DIR/pki/admin.crt" "$DIR/pki/admin.key"
  write_kubeconfig "$DIR/kcm.kubeconfig" system:kube-controller-manager "$DIR/pki/kcm.crt" "$DIR/pki/kcm.key"
  write_env

  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  fail() { for n in kube-controller-manager kube-apiserver etcd; do terminate "$n"; done; write_env; die "$1"; }
  start_etcd
  wait_listening etcd "$ETCD_PORT" "$deadline" || fail "etcd did not start"
  start_apiserver
  write_env
  wait_listening kube-apiserver "$APISERVER_PORT" "$deadline" || fail "kube-apiserver did not start"
  # kube-controller-manager exits when its RBAC roles are not there yet: start it once /readyz
  # (which includes the RBAC bootstrap post-start hook) is ok.
  wait_apiserver_ready "$deadline" || fail "kube-apiserver in $DIR not ready (logs in $DIR/logs)"
  log "kube-apiserver ready after $(since "$t0")s"
  start_kcm
  write_env
  wait_listening kube-controller-manager "$KCM_PORT" "$deadline" || fail "kube-controller-manager did not start"
  # Held until here so that concurrent starts in other DIRs never pick the same ports.
  flock -u 9
  exec 9>&-

  wait_ready "$deadline" || fail "control plane in $DIR not ready (logs in $DIR/logs)"
  write_env
  log "control plane $K8S_VERSION ready in $(since "$t0")s: $DIR"
  report
  cat "$DIR/env"
}

cmd_stop() {
  [ -n "${1:-}" ] || usage
  if [ ! -d "$1" ]; then log "nothing to stop: no directory $1"; return 0; fi
  set_dir "$1"
  local n
  for n in kube-controller-manager kube-apiserver etcd; do terminate "$n"; done
  [ ! -f "$DIR/env" ] || { load_ports; K8S_VERSION="$(env_value K8S_VERSION)"; write_env; }
  log "stopped control plane in $DIR"
}

cmd_status() {
  set_dir "$1"
  [ -f "$DIR/env" ] || { log "no control plane in $DIR"; return 1; }
  load_ports
  report
  if all_alive && [ "$(api_get /readyz)" = "ok" ]; then
    log "  ready (/readyz ok)"
    return 0
  fi
  log "  not ready"
  return 1
}

cmd_restart_apiserver() {
  set_dir "$1"
  local t0 deadline
  [ -f "$DIR/env" ] || die "no control plane in $DIR (start it first)"
  find_bins
  load_ports
  alive etcd || die "etcd is not running in $DIR (use start)"
  t0=$(now_ms)
  terminate kube-apiserver
  start_apiserver
  write_env
  deadline=$(( $(date +%s) + READY_TIMEOUT ))
  wait_apiserver_ready "$deadline" || die "kube-apiserver did not come back in $DIR"
  log "kube-apiserver restarted on port $APISERVER_PORT (pid $(pid_of kube-apiserver)), ready in $(since "$t0")s"
}

case "${1:-}" in
  start) cmd_start "${2:-}" ;;
  stop) cmd_stop "${2:-}" ;;
  status) cmd_status "${2:-}" ;;
  restart-apiserver) cmd_restart_apiserver "${2:-}" ;;
  *) usage ;;
esac
