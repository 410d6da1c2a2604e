# The peer VM's command server (tests/vm/pair/peer.sh starts it; the suite in
# the other VM is its only client, through rb() of tests/vm/pair/lib.sh).
#
#   python3 -S ctl-server.py ADDR PORT PRELUDE_FILE STOP_FILE LOG FIRST_S IDLE_S
#
# One TCP connection per command: the client sends one line "TIMEOUT CMD",
# the server runs `bash -c` with PRELUDE_FILE sourced first, in a session of
# its own, kills the whole session when TIMEOUT seconds pass, and sends back
# the output (stdout and stderr mixed) and a last line "@@rc=N". The line
# "0 quit" ends the server with status 0.
#
# Bounded: it exits with status 2 when no command came for FIRST_S seconds
# after start or IDLE_S seconds after the last one (a dead client), and with
# status 3 when STOP_FILE appears (the host's runner gave up on the pair).
import os
import select
import signal
import socket
import subprocess
import sys
import time

addr, port, prelude, stop_file, log_path = sys.argv[1:6]
first_s, idle_s = int(sys.argv[6]), int(sys.argv[7])
log = open(log_path, "a", buffering=1)


def say(msg):
    log.write(time.strftime("[%H:%M:%S] ") + msg + "\n")


srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, int(port)))
srv.listen(4)
say(f"listening on {addr}:{port}")
deadline = time.monotonic() + first_s


def run(cmd, timeout):
    p = subprocess.Popen(
        ["bash", "-c", f". {prelude}\n{cmd}"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        out, _ = p.communicate(timeout=timeout)
        return p.returncode, out
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            out, _ = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            out = b"(output lost: a child outside the session holds the pipe)\n"
        return 124, out + f"\nctl-server: timed out after {timeout}s\n".encode()


while True:
    if os.path.exists(stop_file):
        say("stop file found: the host gave up")
        sys.exit(3)
    if time.monotonic() > deadline:
        say("no command for too long: the client is gone")
        sys.exit(2)
    ready, _, _ = select.select([srv], [], [], 1)
    if not ready:
        continue
    conn, peer = srv.accept()
    conn.settimeout(30)
    try:
        line = b""
        while not line.endswith(b"\n") and len(line) < 65536:
            chunk = conn.recv(4096)
            if not chunk:
                break
            line += chunk
        text = line.decode(errors="replace").rstrip("\n")
        timeout_s, _, cmd = text.partition(" ")
        if cmd == "quit":
            say("quit")
            conn.sendall(b"@@rc=0\n")
            conn.close()
            sys.exit(0)
        start = time.monotonic()
        rc, out = run(cmd, int(timeout_s))
        say(f"rc={rc} {time.monotonic() - start:.1f}s: {cmd}")
        conn.sendall(out + f"\n@@rc={rc}\n".encode())
    except (OSError, ValueError) as e:
        say(f"connection from {peer}: {e!r}")
    finally:
        conn.close()
    deadline = time.monotonic() + idle_s
