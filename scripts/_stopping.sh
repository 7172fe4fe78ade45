# Sourced by scripts/labelstudio and scripts/gateway: when a server they started has really stopped.
# "Stopped" means the process has ended and its port is free, so a start right after it (or anyone probing the
# port) finds nothing there: a process's sockets outlive its main thread (a zombie leader while other threads
# still run) and, after SIGKILL, which is asynchronous, the process itself by a moment. Needs $PORT.

# Gone, or a zombie nobody has reaped yet; kill -0 alone says yes to a zombie.
ended() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }
# Something accepts connections on 127.0.0.1:$PORT.
answers() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

# stopped_within TRIES INTERVAL PID: wait until PID has ended and the port is free; false if not within
# TRIES x INTERVAL seconds.
stopped_within() {
  local _
  for _ in $(seq 1 "$1"); do
    ended "$3" && ! answers && return 0
    sleep "$2"
  done
  ended "$3" && ! answers
}
