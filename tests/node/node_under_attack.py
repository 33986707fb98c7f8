#!/usr/bin/env python3
"""Runs examples/asio_node under examples/flood_client on loopback, with rcmgr and without.

Each run starts the server (its port chosen by the kernel), samples its resident memory from
/proc/<pid>/status while flood_client runs against it, then asks it to stop (SIGTERM) and reads
the one JSON line it prints: its counters and rcmgr's, after the clients have left.

Both servers run under a cap on their address space (RLIMIT_AS) and a time bound, so the
unprotected one cannot take the machine down: it runs out of memory instead.

--check turns the figures into a pass/fail for CTest. Prints a verdict, then one JSON line.
"""
import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

MIB = 1 << 20


def status_kib(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, ValueError):
        pass
    return None


def last_json(text, kind):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{") and f'"report":"{kind}"' in line:
            return json.loads(line)
    return None


def run_pair(server, client, args, protected):
    cap = args.address_space_mib * MIB

    def limit():
        if cap > 0:  # 0: no cap (sanitizer builds reserve terabytes of address space)
            resource.setrlimit(resource.RLIMIT_AS, (cap, cap))

    cmd = [server, "--port", "0", "--memory-mib", str(args.memory_mib), "--max-seconds", str(args.server_seconds)]
    srv = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limit)
    first = srv.stdout.readline()
    if not first.startswith("listening 127.0.0.1:"):
        srv.kill()
        raise SystemExit(f"{server} did not start: {first!r} {srv.stderr.read()}")
    port = int(first.split(":")[1].split()[0])

    peak = {"rss": 0, "hwm": 0}
    done = threading.Event()

    def sample():
        while not done.is_set():
            rss = status_kib(srv.pid, "VmRSS")
            hwm = status_kib(srv.pid, "VmHWM")
            if rss is not None:
                peak["rss"] = max(peak["rss"], rss)
            if hwm is not None:
                peak["hwm"] = max(peak["hwm"], hwm)
            if srv.poll() is not None:
                return
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.monotonic()
    ccmd = [client, "--port", str(port), "--seconds", str(args.seconds), "--honest", str(args.honest),
            "--abusive-mib", str(args.abusive_mib), "--half-open", str(args.half_open), "--max-seconds", str(args.seconds + 30)]
    try:
        cli = subprocess.run(ccmd, capture_output=True, text=True, timeout=args.seconds + 40)
        client_report = last_json(cli.stdout, "flood_client")
        client_err = cli.stderr
    except subprocess.TimeoutExpired:
        client_report, client_err = None, "flood_client timed out"
    # Clients have left: ask the server for its final counters.
    if srv.poll() is None:
        srv.send_signal(signal.SIGTERM)
    try:
        out, err = srv.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        srv.kill()
        out, err = srv.communicate()
    done.set()
    sampler.join()
    elapsed = time.monotonic() - started
    server_report = last_json(out, "asio_node") or {}
    return {
        "protected": protected,
        "client": client_report or {},
        "client_stderr": client_err[-2000:] if client_err else "",
        "server": server_report,
        "server_exit": srv.returncode,
        "server_stderr": err[-2000:] if err else "",
        "rss_peak_mib": round(max(peak["rss"], peak["hwm"]) / 1024.0, 1),
        "seconds": round(elapsed, 1),
    }


def describe(r, bound_mib):
    c, s = r["client"], r["server"]
    name = "with rcmgr" if r["protected"] else "without rcmgr (null manager)"
    lines = [f"{name}:"]
    if c:
        lines.append(f"  honest requests: {c['honest_ok']} of {c['honest_total']} succeeded; latency p50 {c['p50_ms']:.2f} ms, p99 {c['p99_ms']:.2f} ms")
        lines.append(f"  abusive peer: {c['abusive_mib_sent']} MiB sent on {c['abusive_opened']} streams; at most {c['abusive_max_streams']} admitted at once; {c['abusive_reset']} reset by the server")
        lines.append(f"  half-open burst: {c['half_open_connected']} connected, {c['half_open_closed_by_server']} closed by the server, "
                     f"{c.get('half_open_closed_at_once', 0)} of them within 100 ms")
    else:
        lines.append("  the client produced no report")
    lines.append(f"  server resident memory: peak {r['rss_peak_mib']} MiB (bound {bound_mib} MiB = rcmgr limit + fixed overhead)")
    if "crashed" in s:
        lines.append(f"  the server died: {s['crashed']} (exit {r['server_exit']}) while its address space was capped")
    elif s:
        lines.append(f"  server: {s['conns_refused']} connections refused at accept, {s['hello_timeouts']} closed for saying no hello, "
                     f"{s['streams_refused']} streams and {s['windows_refused']} window growths refused "
                     f"({s.get('window_waits', 0)} frames waited for window memory, {s.get('windows_granted_after_wait', 0)} then granted)")
        sysst = s.get("system", {})
        lines.append(f"  after everyone left: {s['live_connections']} connections, {s['live_streams']} streams live"
                     + (f"; system holds {sysst.get('memory')} B, {sysst.get('streams_in')} streams, {sysst.get('conns_in')} connections, {sysst.get('fd')} fds; {s.get('live_peers')} peer scopes live" if sysst else ""))
    elif r["server_exit"] not in (0, None):
        lines.append(f"  the server died (exit {r['server_exit']}): {r['server_stderr'].strip()[-200:]}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--server", required=True)
    ap.add_argument("--unprotected", required=True)
    ap.add_argument("--client", required=True)
    ap.add_argument("--memory-mib", type=int, default=48, help="the server's rcmgr system memory limit")
    ap.add_argument("--overhead-mib", type=int, default=16,
                    help="fixed allowance for what rcmgr does not account: binary, C++ runtime, Asio, connection objects")
    ap.add_argument("--peer-streams", type=int, default=64, help="the server's per-peer inbound stream limit")
    ap.add_argument("--address-space-mib", type=int, default=384, help="RLIMIT_AS of both servers; 0 for none")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--honest", type=int, default=16)
    ap.add_argument("--abusive-mib", type=int, default=512)
    ap.add_argument("--half-open", type=int, default=200)
    ap.add_argument("--server-seconds", type=int, default=60)
    ap.add_argument("--check", action="store_true", help="exit 1 unless every expectation holds")
    ap.add_argument("--protected-only", action="store_true", help="skip the unprotected run")
    args = ap.parse_args()

    bound = args.memory_mib + args.overhead_mib
    prot = run_pair(args.server, args.client, args, True)
    unprot = None if args.protected_only else run_pair(args.unprotected, args.client, args, False)

    print("Verdict")
    print(describe(prot, bound))
    if unprot:
        print(describe(unprot, bound))

    c, s = prot["client"], prot["server"]
    failures = []
    if not c:
        failures.append("protected run: no client report")
    else:
        if c["honest_total"] == 0 or c["honest_ok"] != c["honest_total"]:
            failures.append(f"protected run: {c['honest_ok']} of {c['honest_total']} honest requests succeeded")
        if c["abusive_max_streams"] > args.peer_streams:
            failures.append(f"protected run: the abusive peer had {c['abusive_max_streams']} streams open (limit {args.peer_streams})")
    if prot["rss_peak_mib"] > bound:
        failures.append(f"protected run: RSS peak {prot['rss_peak_mib']} MiB above the bound {bound} MiB")
    if not s or "system" not in s:
        failures.append(f"protected run: no server report (exit {prot['server_exit']}): {prot['server_stderr'][-300:]}")
    else:
        if s["live_peers"] != 0 or s["live_connections"] != 0 or s["live_streams"] != 0:
            failures.append(f"protected run: live after the clients left: {s['live_peers']} peers, {s['live_connections']} connections, {s['live_streams']} streams")
        for scope in ("system", "transient"):
            if any(v != 0 for v in s[scope].values()):
                failures.append(f"protected run: {scope} counters not back to zero: {s[scope]}")
        if s["over_releases"] != 0:
            failures.append(f"protected run: {s['over_releases']} over-releases")
        if s["max_streams_one_peer"] > args.peer_streams:
            failures.append(f"protected run: the server admitted {s['max_streams_one_peer']} streams for one peer")
    for r in (prot, unprot):
        if r and any(m in r["server_stderr"] for m in ("runtime error:", "ERROR: AddressSanitizer", "WARNING: ThreadSanitizer")):
            failures.append("a sanitizer reported an error in the server:\n" + r["server_stderr"][-1500:])
    if unprot:
        uc = unprot["client"]
        # The comparison must show something, and the unprotected run must have stayed bounded.
        shows = ("crashed" in unprot["server"] or unprot["rss_peak_mib"] > bound
                 or (uc and uc.get("honest_ok") != uc.get("honest_total")))
        if not shows:
            failures.append("unprotected run: no difference from the protected one (the flood is too small to matter)")
        if args.address_space_mib > 0 and unprot["rss_peak_mib"] > args.address_space_mib:
            failures.append("unprotected run: exceeded its address-space cap")

    figures = {
        "honest_ok": c.get("honest_ok"), "honest_total": c.get("honest_total"),
        "p50_ms": c.get("p50_ms"), "p99_ms": c.get("p99_ms"),
        "rss_peak_mib": prot["rss_peak_mib"], "rss_bound_mib": bound,
        "abusive_max_streams": c.get("abusive_max_streams"),
        "leaked_peers": s.get("live_peers") if s else None,
    }
    if unprot:
        uc = unprot["client"]
        figures["unprotected"] = {
            "honest_ok": uc.get("honest_ok"), "honest_total": uc.get("honest_total"), "p99_ms": uc.get("p99_ms"),
            "rss_peak_mib": unprot["rss_peak_mib"], "abusive_max_streams": uc.get("abusive_max_streams"),
            "crashed": unprot["server"].get("crashed", False) or (unprot["server_exit"] not in (0, None) and unprot["server_exit"]),
        }
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
    print(json.dumps(figures, separators=(",", ":")))
    return 1 if (args.check and failures) else 0


if __name__ == "__main__":
    sys.exit(main())
