# Sourced by build-image.sh and check-image.sh: picks the container engine and sets ENGINE.
#   docker, when a Docker engine answers;
#   otherwise podman as root, installed from Debian when missing (podman, runc), with a containers.conf of the project's
#   own (CONTAINERS_CONF, nothing under /etc is changed) that fits a machine without cgroup v2 and without
#   CAP_SYS_RESOURCE: the runc runtime (crun refuses hybrid cgroups) and file and process limits no higher than the
#   caller's own hard limits (podman's defaults would raise them, which needs CAP_SYS_RESOURCE).

container_engine_prepare() { # work-folder
  local work="$1"
  mkdir -p "$work"
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    ENGINE=docker
    return
  fi

  if ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
    if [[ "$(id -u)" != "0" ]] || ! command -v apt-get >/dev/null 2>&1; then
      echo "container-engine: no Docker engine answers, and podman with runc is not installed (as root: apt-get install podman runc)" >&2
      exit 1
    fi
    echo "container-engine: installing podman and runc from Debian"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman runc >/dev/null
  fi

  local nofile nproc
  nofile="$(ulimit -Hn)"; [[ "$nofile" == "unlimited" ]] && nofile=1048576
  nproc="$(ulimit -Hu)"; [[ "$nproc" == "unlimited" ]] && nproc=32768
  (( nproc > 32768 )) && nproc=32768 # above this, runc's setrlimit is refused on the benchmark machine
  cat > "$work/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
EOF
  export CONTAINERS_CONF="$work/containers.conf"
  ENGINE=podman
}
