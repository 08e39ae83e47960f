"""Machine facts and the markdown result table."""
import os
import platform
import subprocess

from .procs import ROOT


def _first(path, prefix):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(prefix):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def _run(cmd, cwd=ROOT):
    try:
        result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=30)
        return (result.stdout + result.stderr).strip()
    except (OSError, subprocess.TimeoutExpired):
        return "?"


def disk_of(path):
    """`device (fstype, rotational=N)` of the filesystem holding path."""
    out = _run(["df", "--output=source,fstype", path]).splitlines()
    if len(out) < 2:
        return "?"
    device, fstype = out[1].split()[:2]
    base = os.path.basename(device)
    rotational = "?"
    for name in (base, base.rstrip("0123456789")):
        try:
            with open(f"/sys/block/{name}/queue/rotational") as f:
                rotational = f.read().strip()
                break
        except OSError:
            continue
    return f"{device} ({fstype}, rotational={rotational})"


def machine_info(store_root, rmqd_bin, heaps, java_broker_version, tool_version):
    mem_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    commit = _run(["git", "rev-parse", "--short", "HEAD"])
    dirty = _run(["git", "status", "--porcelain", "--untracked-files=no"])
    java = _run(["java", "-version"]).splitlines()
    return [
        ("cores", str(os.cpu_count())),
        ("memory", f"{int(mem_kib) / 1024 / 1024:.1f} GiB" if mem_kib.isdigit() else "?"),
        ("kernel", platform.release()),
        ("CPU", _first("/proc/cpuinfo", "model name")),
        ("store disk", f"{disk_of(store_root)}; stores under {store_root}"),
        ("rmqd", f"{rmqd_bin}, commit {commit}{' (+ uncommitted changes)' if dirty else ''}"),
        ("Java", java[0] if java else "?"),
        ("Java broker", f"{java_broker_version}; broker heap {heaps[0]}, name server heap {heaps[1]} "
                        f"(-Xms = -Xmx); benchmark tool {tool_version}, heap 1g; scenario 9 (gRPC): 5.3.3 "
                        f"inside rocketmq-proxy 5.3.3, local mode"),
    ]


def fmt(value, unit=""):
    if value is None:
        return "n/a"
    if isinstance(value, str):
        return value
    if abs(value) >= 1000:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3f}"
    return text + unit


def ratio(java, rmqd):
    if java in (None, 0) or rmqd is None or isinstance(java, str) or isinstance(rmqd, str):
        return "n/a"
    value = rmqd / java
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.2g}x"


def table(rows):
    """rows: dicts with scenario, figure, java, rmqd, unit, target, met."""
    out = ["| # | scenario | figure | Java | rmqd | rmqd/Java | target | met |",
           "|---|---|---|---:|---:|---:|---|---|"]
    for row in rows:
        unit = row.get("unit", "")
        java = row.get("java")
        out.append(f"| {row['id']} | {row['scenario']} | {row['figure']} | {fmt(java, unit)} | "
                   f"{fmt(row.get('rmqd'), unit)} | {ratio(java, row.get('rmqd'))} | "
                   f"{row.get('target', '')} | {row.get('met', '')} |")
    return "\n".join(out)


def met(ok):
    if ok is None:
        return "n/a"
    return "met" if ok else "**not met**"
