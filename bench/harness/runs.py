"""The load generators: `rmqd bench` (JSON summary) and the official Java benchmark Producer/Consumer
(org.apache.rocketmq.example.benchmark, compiled at run time from the upstream tag, see bench/java/pom.xml)."""
import json
import os
import re
import signal
import subprocess
import time

from . import procs, wire
from .procs import log

JAVA_TOOL_HEAP = "1g"


def rmqd_bench(rmqd_bin, args, logfile, timeout_s):
    """Runs `rmqd bench ARGS --json`; returns the summary dict (progress lines go to logfile)."""
    cmd = [rmqd_bin, "bench", *[str(a) for a in args], "--json"]
    log("run: " + " ".join(cmd[1:]))
    with open(logfile, "a") as err:
        err.write("$ " + " ".join(cmd) + "\n")
        err.flush()
        proc = procs.spawn(cmd, stdout=subprocess.PIPE, stderr=err, text=True)
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            procs.kill_child(proc)
            raise RuntimeError(f"rmqd bench timed out after {timeout_s} s")
        procs.kill_child(proc)
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"rmqd bench failed (exit {proc.returncode}); see {logfile}")
    return json.loads(lines[-1])


def send_figures(summary):
    send = summary["send"]
    lat = send.get("latency_ms") or {}
    return {"tps": send["tps"], "p50": lat.get("p50"), "p99": lat.get("p99"), "p999": lat.get("p999"),
            "max": lat.get("max"), "failures": summary["failures"]}


BENCHMARK_DIR = "example/src/main/java/org/apache/rocketmq/example/benchmark"
SOURCE_RELEASE = ("https://repo.maven.apache.org/maven2/org/apache/rocketmq/rocketmq-all/{v}/"
                  "rocketmq-all-{v}-source-release.zip")


def upstream_benchmark_sources(src_repo, version, workdir):
    """{name: bytes} of the official benchmark Producer, Consumer and AclClient of `version`."""
    names = ("Producer", "Consumer", "AclClient")
    if src_repo and os.path.isdir(src_repo):
        return {n: subprocess.run(["git", "-C", src_repo, "show", f"rocketmq-all-{version}:{BENCHMARK_DIR}/{n}.java"],
                                  capture_output=True, check=True).stdout for n in names}
    import urllib.request
    import zipfile
    archive = os.path.join(workdir, f"rocketmq-all-{version}-source-release.zip")
    if not os.path.exists(archive):
        url = SOURCE_RELEASE.format(v=version)
        log(f"downloading {url}")
        urllib.request.urlretrieve(url, archive + ".part")
        os.rename(archive + ".part", archive)
    with zipfile.ZipFile(archive) as z:
        found = {}
        for entry in z.namelist():
            for n in names:
                if entry.endswith(f"{BENCHMARK_DIR}/{n}.java"):
                    found[n] = z.read(entry)
    missing = [n for n in names if n not in found]
    if missing:
        raise RuntimeError(f"{archive} has no {', '.join(missing)}")
    return found


class JavaTools:
    """Classpath of rocketmq-client/srvutil/acl (Maven Central) plus the benchmark classes compiled from the
    upstream sources: the tag in a local rocketmq git mirror when there is one, else Apache's source-release
    zip of that version from Maven Central (rocketmq-example itself is not published there)."""

    def __init__(self, root, workdir, src_repo, version):
        self.workdir, self.version = workdir, version
        os.makedirs(workdir, exist_ok=True)
        cp_file = os.path.join(workdir, f"client-{version}.classpath")
        if not os.path.exists(cp_file):
            log(f"resolving rocketmq-client {version} classpath (bench/java/pom.xml)")
            subprocess.run(["mvn", "-B", "-ntp", "-q", "-f", os.path.join(root, "bench", "java", "pom.xml"),
                            "dependency:build-classpath", f"-Drocketmq.version={version}",
                            f"-Dmdep.outputFile={cp_file}"], check=True, stdout=subprocess.DEVNULL)
        with open(cp_file) as f:
            deps = f.read().strip()
        classes = os.path.join(workdir, f"classes-{version}")
        marker = os.path.join(classes, "org", "apache", "rocketmq", "example", "benchmark", "Producer.class")
        if not os.path.exists(marker):
            src = os.path.join(workdir, f"src-{version}")
            os.makedirs(src, exist_ok=True)
            for name, text in upstream_benchmark_sources(src_repo, version, workdir).items():
                with open(os.path.join(src, f"{name}.java"), "wb") as f:
                    f.write(text)
            log(f"compiling the upstream benchmark tools {version} into {classes}")
            subprocess.run(["javac", "-nowarn", "-d", classes, "-cp", deps,
                            *[os.path.join(src, f"{n}.java") for n in ("Producer", "Consumer", "AclClient")]],
                           check=True, capture_output=True)
        self.classpath = classes + os.pathsep + deps

    def _cmd(self, cls, args):
        return ["java", f"-Xms{JAVA_TOOL_HEAP}", f"-Xmx{JAVA_TOOL_HEAP}",
                f"-Duser.home={self.workdir}", "-Drocketmq.client.logUseSlf4j=false",
                "-cp", self.classpath, f"org.apache.rocketmq.example.benchmark.{cls}", *[str(a) for a in args]]

    def producer(self, namesrv, topic, threads, size, duration_s, quantity, logfile):
        """Sync sends from the official tool. With duration_s >= 12 it runs that long and the last
        periodic line (a 10 s window) is used; otherwise it sends `quantity` messages and the [Complete]
        line is used. Returns {tps, avg, max} (ms)."""
        args = ["-n", namesrv, "-t", topic, "-w", threads, "-s", size]
        timed = duration_s >= 12
        args += ["-q", 0 if timed else quantity]
        cmd = self._cmd("Producer", args)
        log("run: java benchmark Producer " + " ".join(map(str, args)))
        with open(logfile, "a") as out:
            out.write("$ " + " ".join(cmd) + "\n")
            out.flush()
            started = time.time()
            proc = procs.spawn(cmd, stdout=subprocess.PIPE, stderr=out, text=True)
            # Timed: JVM start-up plus the run (the tool prints one line every 10 s after its first 10 s),
            # then SIGTERM; counted: the tool exits by itself after `quantity` messages.
            try:
                text, _ = proc.communicate(timeout=duration_s + 4 if timed else 300)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGTERM)
                text, _ = proc.communicate()  # what the tool printed before the signal
            procs.kill_child(proc)
            wall = time.time() - started
            out.write(text)
        return parse_producer(text, wall)

    def consumer_drain(self, broker, topic, group, total, queues, timeout_s, logfile):
        """Starts the official push consumer on a new group and follows the group's committed offsets on
        the broker until `total` messages are consumed. TPS = messages consumed between the first and the
        last offset change / time between them (JVM start-up and rebalancing excluded)."""
        cmd = self._cmd("Consumer", ["-n", broker.namesrv, "-t", topic, "-g", group, "-w", 20])
        log(f"run: java benchmark Consumer -t {topic} -g {group} (drain {total})")
        with open(logfile, "a") as out:
            out.write("$ " + " ".join(cmd) + "\n")
            out.flush()
            proc = procs.spawn(cmd, stdout=out, stderr=subprocess.STDOUT)
            first = last = None
            deadline = time.time() + timeout_s
            try:
                while time.time() < deadline and proc.poll() is None:
                    try:
                        done = wire.consumer_offset_sum(broker.broker_port, group, topic, queues)
                    except OSError:
                        done = 0
                    now = time.time()
                    if done > 0 and first is None:
                        first = (now, done)
                    if first and done > first[1]:
                        last = (now, done)
                    if done >= total:
                        break
                    time.sleep(0.05)
            finally:
                procs.kill_child(proc)
        if not first or not last or last[0] <= first[0]:
            return {"tps": None, "note": f"no progress in {timeout_s} s"}
        consumed = last[1] - first[1]
        return {"tps": consumed / (last[0] - first[0]), "consumed": last[1],
                "note": None if last[1] >= total else f"only {last[1]} of {total} in {timeout_s} s"}


_COMPLETE = re.compile(r"\[Complete\] Send Total: (\d+)(?: Send TPS: (\d+) Max RT\(ms\): (\d+) "
                       r"Average RT\(ms\):\s*([\d.]+))?")
_PERIODIC = re.compile(r"Send TPS: (\d+) Max RT\(ms\): (\d+) Average RT\(ms\):\s*([\d.]+)")


def parse_producer(text, wall_s):
    periodic = [m for m in _PERIODIC.finditer(text) if "[Complete]" not in text[max(0, m.start() - 40):m.start()]]
    complete = _COMPLETE.search(text)
    if complete and complete.group(2):
        return {"tps": float(complete.group(2)), "max": float(complete.group(3)), "avg": float(complete.group(4))}
    if periodic:
        m = periodic[-1]
        return {"tps": float(m.group(1)), "max": float(m.group(2)), "avg": float(m.group(3))}
    if complete:
        # Too short for the tool's own rate: messages over wall time (includes JVM start-up, so low).
        return {"tps": int(complete.group(1)) / wall_s, "max": None, "avg": None, "note": "total/wall"}
    return {"tps": None, "max": None, "avg": None, "note": "no output"}
