# What bench/http_bench.sh and bench/serve.sh share; sourced, not run.
#
# http_bench_init NAME: a scratch directory in $tmp, and a cleanup at exit that stops every
# server whose PID is in the pids array and removes $tmp.
# start_nginx BODY: nginx from a config of our own in $tmp (workers one per core, no logs)
# answering every request with BODY on a free loopback port, which lands in $nginx_port.
#
# wrk_rounds LABEL WIDTH: runs `wrk -t2 -c$CONNECTIONS -d${SECONDS_EACH}s --latency $WRK_ARGS` against
# ${url[NAME]} for each NAME of ${names[@]}, $ROUNDS times in turn (so the machine's noise
# falls on all alike), printing each run, and collects the figures in the associative arrays
# rps, p50 and p99 (space-separated, latencies in microseconds) that the caller declared.
# Afterwards wrk_table LABEL WIDTH prints the medians with the ratio to nginx (${rps[nginx]}).
# When the caller also declared the associative arrays cpu_pid and cpu_us, every NAME with a
# PID in cpu_pid gets the CPU time its process used per request in each run (user + system,
# from /proc/PID/stat, in microseconds) appended to cpu_us: on a shared machine, where
# req/s follows the share of the cores a server gets, this is the steadier figure.

http_bench_init() {
  tmp=$(mktemp -d "/tmp/zh-$1.XXXXXX")
  pids=()
  trap http_bench_cleanup EXIT
}

http_bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

start_nginx() {
  nginx_port=$(free_port)
  mkdir -p "$tmp/nginx/logs"
  cat >"$tmp/nginx/nginx.conf" <<CONF
worker_processes auto;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/logs/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  server {
    listen 127.0.0.1:$nginx_port;
    location / { default_type text/plain; return 200 "$1"; }
  }
}
CONF
  nginx -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -g 'daemon off;' 2>"$tmp/nginx/stderr" &
  pids+=($!)
}

# wrk latency values ("512.00us", "1.20ms", "2.00s") in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) f = 1; else if (v ~ /ms$/) f = 1000;
                         else if (v ~ /s$/) f = 1000000; else f = 1; printf "%.1f\n", n * f }'
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The ratio of a req/s figure to nginx's median.
nginx_ratio() {
  # shellcheck disable=SC2086 # a list of numbers, split on purpose
  awk -v a="$1" -v b="$(median ${rps[nginx]})" 'BEGIN { printf "%.2f", a / b }'
}

wrk_rounds() {
  local label=$1 width=$2 round n out r a b errs
  for round in $(seq "$ROUNDS"); do
    for n in "${names[@]}"; do
      local pid="" t0=0 t1 reqs
      if declare -p cpu_pid >/dev/null 2>&1 && [[ -n "${cpu_pid[$n]:-}" ]]; then
        pid=${cpu_pid[$n]}
        t0=$(cpu_ticks "$pid")
      fi
      # shellcheck disable=SC2086 # WRK_ARGS: extra words, e.g. "-s post.lua"
      out=$(wrk -t2 -c"$CONNECTIONS" -d"${SECONDS_EACH}s" --latency ${WRK_ARGS:-} "${url[$n]}")
      if [[ -n "$pid" ]]; then
        t1=$(cpu_ticks "$pid")
        reqs=$(awk '/requests in/ { print $1 }' <<<"$out")
        # shellcheck disable=SC2004 # an associative array's key, not arithmetic
        cpu_us[$n]+="$(awk -v t="$((t1 - t0))" -v hz="$(getconf CLK_TCK)" -v r="$reqs" \
          'BEGIN { printf "%.1f", (r > 0 ? t * 1e6 / hz / r : 0) }') "
      fi
      r=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
      a=$(awk '$1 == "50%" { print $2 }' <<<"$out")
      b=$(awk '$1 == "99%" { print $2 }' <<<"$out")
      errs=$(awk '/Non-2xx|Socket errors/ { print }' <<<"$out")
      [[ -z "$errs" ]] || echo "$label: $n round $round: $errs"
      rps[$n]+="$r "
      p50[$n]+="$(to_us "$a") "
      p99[$n]+="$(to_us "$b") "
      printf "  round %d %-${width}s %10.0f req/s  p50 %8s  p99 %8s\n" "$round" "$n" "$r" "$a" "$b"
    done
  done
}

# utime + stime of a process, in clock ticks (fields 14 and 15; the name in field 2 may
# hold spaces, so count from its closing parenthesis).
cpu_ticks() {
  sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}

wrk_table() {
  local width=$1 n m l50 l99
  printf "%-${width}s %12s %10s %10s %8s\n" server "req/s" "p50 us" "p99 us" nginx
  for n in "${names[@]}"; do
    # shellcheck disable=SC2086 # lists of numbers, split on purpose
    {
      m=$(median ${rps[$n]})
      l50=$(median ${p50[$n]})
      l99=$(median ${p99[$n]})
    }
    printf "%-${width}s %12.0f %10.1f %10.1f %7sx\n" "$n" "$m" "$l50" "$l99" "$(nginx_ratio "$m")"
  done
}

# The orders example's request (examples/orders): a 1 KiB order in $tmp/order.txt, and the
# wrk script that POSTs it in $tmp/post.lua. For bench/hops.sh and bench/bus_cpu.sh.
orders_request() {
  {
    printf 'order B1\nitem apple 3 250\nitem pear 10 1200\nnote '
    head -c 2000 /dev/zero | tr '\0' 'x'
  } | head -c 1023 >"$tmp/order.txt"
  echo >>"$tmp/order.txt"
  cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
local f = io.open("$tmp/order.txt", "rb")
wrk.body = f:read("*a")
f:close()
LUA
}

# callgrind_up BIN WARM N [ARGS...]: `BIN up -f $tmp` under callgrind, counting only while
# `requests PORT N ARGS...` runs (after `requests PORT WARM ARGS...` warmed it up); the
# profile is left in $tmp/callgrind.out.1. The calling script defines `requests`.
callgrind_up() {
  local bin=$1 warm=$2 n=$3 port pid out="$tmp/callgrind.out"
  shift 3
  port=$(free_port)
  rm -f "$out" "$out".*
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$out" \
    "$bin" up -f "$tmp" --listen "127.0.0.1:$port" >"$tmp/up.out" 2>"$tmp/up.err" &
  pid=$!
  pids+=("$pid")
  wait_serving "$tmp/up.out" "$tmp/up.err" "zerohop up"
  requests "$port" "$warm" "$@"
  callgrind_control -i on "$pid" >/dev/null 2>&1
  requests "$port" "$n" "$@"
  callgrind_control -d "$pid" >/dev/null 2>&1
  callgrind_control -i off "$pid" >/dev/null 2>&1
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}

# wait_serving OUT ERR WHO: waits up to 60 s for `zerohop up`'s "Serving" line in the file
# OUT; if it never comes, prints ERR (its stderr) and "WHO did not start", and exits.
wait_serving() {
  for _ in $(seq 600); do
    grep -q '^Serving ' "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  cat "$2" >&2
  echo "$3 did not start" >&2
  exit 1
}

# deps_app NAME: $tmp/app/spin.toml, the dependency call's app (bench/hops_call.sh): x is
# deps_caller, its zerohop:deps/text@1.0.0 is y, deps_callee ($COMP holds both).
deps_app() {
  mkdir -p "$tmp/app"
  cat >"$tmp/app/spin.toml" <<TOML
spin_manifest_version = 2
[application]
name = "$1"
[[trigger.http]]
route = "/x/..."
component = "x"
[component.x]
source = "$COMP/deps_caller.wasm"
[component.x.dependencies]
"zerohop:deps/text@1.0.0" = { component = "y" }
[component.y]
source = "$COMP/deps_callee.wasm"
TOML
}
