"""Brokers (through scripts/broker-ctl.sh) and child processes, all stopped on exit.

Every process the harness starts is registered here; `cleanup()` runs from a `finally` and from the
SIGINT/SIGTERM handlers, stops the brokers through broker-ctl.sh and kills the other children by pid."""
import os
import signal
import subprocess
import sys
import threading
import time

from . import wire

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CTL = os.path.join(ROOT, "scripts", "broker-ctl.sh")

_children = []  # Popen objects of helper processes (echo server, benchmark clients)
_brokers = []   # Broker objects that may be running


def log(msg):
    print(f"[compare {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def free_port():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "free-port.py")],
                         capture_output=True, text=True, check=True)
    return int(out.stdout.strip())


def spawn(cmd, **kwargs):
    """Starts a helper process that cleanup() will kill (its own process group)."""
    proc = subprocess.Popen(cmd, start_new_session=True, **kwargs)
    _children.append(proc)
    return proc


def kill_child(proc, sig=signal.SIGTERM, wait_s=10):
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=wait_s)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    if proc in _children:
        _children.remove(proc)


class Broker:
    """One broker-ctl.sh KIND + WORKDIR with its own free ports."""

    def __init__(self, kind, workdir, env, grpc=False):
        """grpc: also serve apache.rocketmq.v2 (rmqd's grpcServerPort; Java 5.x inside its proxy, local mode)."""
        self.kind, self.workdir = kind, workdir
        self.namesrv_port, self.broker_port = free_port(), free_port()
        while abs(self.broker_port - self.namesrv_port) < 3:
            self.broker_port = free_port()
        self.env = dict(env, NAMESRV_PORT=str(self.namesrv_port), BROKER_PORT=str(self.broker_port))
        self.grpc_port = None
        while grpc and self.grpc_port is None:
            port = free_port()
            if min(abs(port - self.namesrv_port), abs(port - self.broker_port)) >= 3:
                self.grpc_port = port
                self.env["GRPC_PORT"] = str(port)

    @property
    def name(self):
        return "java" if self.kind == "java" else "rmqd"

    @property
    def namesrv(self):
        return f"127.0.0.1:{self.namesrv_port}"

    @property
    def grpc(self):
        return f"127.0.0.1:{self.grpc_port}"

    def ctl(self, action, check=True):
        log(f"{self.name}: broker-ctl {action}")
        with open(os.path.join(self.workdir, "ctl.log"), "a") as out:
            result = subprocess.run([CTL, action, self.kind, self.workdir], env=self.env,
                                    stdout=out, stderr=subprocess.STDOUT)
        if check and result.returncode != 0:
            raise RuntimeError(f"broker-ctl {action} {self.kind} failed; see {self.workdir}/ctl.log and logs/")

    def start(self):
        os.makedirs(self.workdir, exist_ok=True)
        if self not in _brokers:
            _brokers.append(self)
        self.ctl("start")

    def stop(self):
        self.ctl("stop", check=False)
        if self in _brokers:
            _brokers.remove(self)

    def pid(self, role="broker"):
        """Pid of the broker process (rmqd: the one process) or, for Java, of the name server."""
        name = "rmqd" if self.kind != "java" else role
        try:
            with open(os.path.join(self.workdir, f"{name}.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def restart_timed(self, topic, sig, timeout_s=120):
        """Sends `sig` to the broker process (SIGTERM: clean stop; SIGKILL: crash), restarts it on the same
        store, and returns the seconds from the new process's fork to its first accepted send.

        A probe thread retries a direct send every 2 ms from before the restart, so the figure does not
        depend on broker-ctl's own readiness polling."""
        pid = self.pid()
        if pid:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
            deadline = time.time() + 60
            while os.path.exists(f"/proc/{pid}") and time.time() < deadline:
                time.sleep(0.01)
        accepted = {}
        stop = threading.Event()

        def probe():
            while not stop.is_set():
                if wire.send_once(self.broker_port, topic, timeout=0.5):
                    accepted["at"] = time.clock_gettime(time.CLOCK_BOOTTIME)
                    return
                time.sleep(0.002)

        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        try:
            self.ctl("restart")
            thread.join(timeout_s)
        finally:
            stop.set()
        new_pid = self.pid()
        if "at" not in accepted or not new_pid:
            return None
        return accepted["at"] - process_start(new_pid)


def register(broker):
    """Makes cleanup() stop a broker that was started through restart_timed rather than start()."""
    os.makedirs(broker.workdir, exist_ok=True)
    if broker not in _brokers:
        _brokers.append(broker)


def process_start(pid):
    """Fork time of a process on the CLOCK_BOOTTIME scale (clock-tick resolution, usually 10 ms)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[19]) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid, field="VmRSS"):
    """A /proc/<pid>/status figure in KiB: VmRSS (everything resident, mapped store pages included) or
    RssAnon (heap, stacks: the memory the process itself owns)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, TypeError):
        pass
    return None


class RssSampler:
    """Samples VmRSS and RssAnon of some pids every 100 ms in a thread; `peak_mib()` afterwards."""

    def __init__(self, pids):
        self.pids, self.peak, self.peak_anon = {k: v for k, v in pids.items() if v}, {}, {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                value = rss_kib(pid)
                if value is not None:
                    self.peak[name] = max(self.peak.get(name, 0), value)
                anon = rss_kib(pid, "RssAnon")
                if anon is not None:
                    self.peak_anon[name] = max(self.peak_anon.get(name, 0), anon)
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def peak_mib(self, name, anon=False):
        peak = self.peak_anon if anon else self.peak
        return peak[name] / 1024 if name in peak else None


def cleanup():
    for proc in list(_children):
        kill_child(proc, wait_s=5)
    for broker in list(_brokers):
        broker.stop()


def install_signal_handlers():
    def handler(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    # SIGINT too: a shell that starts us in the background may have left it ignored.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)
