#!/usr/bin/python3
"""A Proxmox VE API simulator for testing proxmox.so (test code, not a product).

Serves the subset of https://HOST:8006/api2/json that the plugin uses, with
the shapes of docs/notes (pve-manager / pve-container): {"data": ...}
replies, errors in the HTTP reason phrase plus "message", API-token auth,
UPID tasks that finish after a delay, and per-test fault injection through
an unauthenticated control API under /_sim.

  pvesim.py --cert-dir DIR --token 'root@pam!berth=SECRET' --ready-file F
            [--port 0] [--nodes pve1,pve2] [--task-delay-ms 200]

F receives {"port": N, "fingerprint": "AB:CD:...", "ca": "DIR/cert.pem"}.
"""
import argparse, hashlib, json, os, re, ssl, subprocess, sys, threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlparse

LOCK = threading.RLock()
STATE = {}


def default_state(nodes):
    return {
        "nodes": {n: {"online": True} for n in nodes},
        "guests": {
            101: guest(101, nodes[0], "web", "running", tags="proxy;web"),
            102: guest(102, nodes[0], "db", "stopped"),
            103: guest(103, nodes[0], "tmpl", "stopped", template=1),
        },
        "faults": [],
        "requests": [],
        "tasks": {},
        "upid_counter": 0,
    }


def guest(vmid, node, name, status, tags=None, template=0, lock=None,
          ignores_shutdown=False, task_delay_ms=None):
    return {"vmid": int(vmid), "node": node, "name": name, "status": status,
            "tags": tags, "template": template, "lock": lock,
            "ignores_shutdown": ignores_shutdown, "task_delay_ms": task_delay_ms,
            "started_at": time.time() if status == "running" else None}


def guest_from(obj, existing=None):
    g = existing or guest(obj["vmid"], obj.get("node", "pve1"), obj.get("name", "ct%s" % obj["vmid"]), "stopped")
    for k in ("node", "name", "tags", "template", "lock", "ignores_shutdown", "task_delay_ms"):
        if k in obj:
            g[k] = obj[k]
    if "status" in obj and obj["status"] != g["status"]:
        g["status"] = obj["status"]
        g["started_at"] = time.time() if obj["status"] == "running" else None
    return g


def public(g, live=True):
    """A guest as /nodes/{node}/lxc and /cluster/resources show it."""
    running = g["status"] == "running"
    d = {"vmid": g["vmid"], "name": g["name"], "status": g["status"], "type": "lxc",
         "uptime": int(time.time() - g["started_at"]) if running and g["started_at"] else 0,
         "cpu": 0.01 if running else 0, "cpus": 1, "maxcpu": 1,
         "mem": 52428800 if running else 0, "maxmem": 536870912, "swap": 0, "maxswap": 536870912,
         "disk": 104857600, "maxdisk": 8589934592, "netin": 0, "netout": 0,
         "diskread": 0, "diskwrite": 0}
    if running:
        d["pid"] = 10000 + g["vmid"]
    if g["tags"]:
        d["tags"] = g["tags"]
    if g["lock"]:
        d["lock"] = g["lock"]
    if g["template"]:
        d["template"] = 1
    return d


class PveError(Exception):
    def __init__(self, status, reason, extra=None):
        self.status, self.reason, self.extra = status, reason, extra


def node_of(node):
    n = STATE["nodes"].get(node)
    if n is None:
        raise PveError(500, "hostname lookup '%s' failed - failed to get address info for: %s: "
                            "Name or service not known" % (node, node))
    if not n["online"]:
        raise PveError(595, "Connection refused")
    return n


def guest_on(node, vmid_text):
    if not re.fullmatch(r"\d+", vmid_text) or not 100 <= int(vmid_text) <= 999999999:
        raise PveError(400, "Parameter verification failed.",
                       {"errors": {"vmid": "invalid format - value does not look like a valid VM ID\n"}})
    node_of(node)
    g = STATE["guests"].get(int(vmid_text))
    if g is None or g["node"] != node:
        raise PveError(500, "Configuration file 'nodes/%s/lxc/%s.conf' does not exist" % (node, vmid_text))
    return g


def new_upid(node, kind, vmid, user):
    STATE["upid_counter"] += 1
    pid = 0x1000 + STATE["upid_counter"]
    start = int(time.time())
    return "UPID:%s:%08X:%08X:%08X:%s:%s:%s:" % (node, pid, pid * 7, start, kind, vmid, user)


def run_task(upid, g, action, params, delay_ms):
    task = STATE["tasks"][upid]

    def finish():
        time.sleep(delay_ms / 1000.0)
        with LOCK:
            status, exit = "stopped", "OK"
            if g["lock"]:
                exit = "CT is locked (%s)" % g["lock"]
            elif action in ("suspend", "resume"):
                exit = "CRIU checkpoint/restore is not available for this container"
            elif action == "start":
                g["status"], g["started_at"] = "running", time.time()
            elif action == "stop":
                g["status"], g["started_at"] = "stopped", None
            elif action == "shutdown":
                if g["ignores_shutdown"] and params.get("forceStop") not in ("1", "true"):
                    exit = "container did not stop"
                else:
                    g["status"], g["started_at"] = "stopped", None
            elif action == "reboot":
                g["status"], g["started_at"] = "running", time.time()
            task.update({"status": status, "exitstatus": exit})

    # A shutdown of a guest that ignores it lasts for its timeout.
    if action == "shutdown" and g["ignores_shutdown"]:
        delay_ms = max(delay_ms, int(params.get("timeout", "60")) * 1000)
    threading.Thread(target=finish, daemon=True).start()


TASK_TYPES = {"start": "vzstart", "stop": "vzstop", "shutdown": "vzshutdown",
              "reboot": "vzreboot", "suspend": "vzsuspend", "resume": "vzresume"}


def api(method, path, query, form, user):
    """Returns data for {"data": ...} or raises PveError."""
    parts = [p for p in path.split("/") if p]
    if method == "GET" and parts == ["version"]:
        return {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}
    if method == "GET" and parts == ["nodes"]:
        return [{"node": n, "status": "online" if s["online"] else "offline", "type": "node",
                 "ssl_fingerprint": ARGS.fingerprint} for n, s in STATE["nodes"].items()]
    if method == "GET" and parts == ["cluster", "resources"]:
        out = []
        for g in STATE["guests"].values():
            d = public(g)
            if not STATE["nodes"][g["node"]]["online"]:
                d["status"] = "unknown"
            d.update({"id": "lxc/%d" % g["vmid"], "node": g["node"]})
            out.append(d)
        out.append({"id": "qemu/900", "type": "qemu", "vmid": 900, "node": list(STATE["nodes"])[0],
                    "name": "a-vm", "status": "running", "template": 0, "uptime": 100})
        t = query.get("type", [None])[0]
        return [d for d in out if t in (None, "vm")]
    if len(parts) >= 3 and parts[0] == "nodes" and parts[2] == "lxc":
        node = parts[1]
        if len(parts) == 3 and method == "GET":
            node_of(node)
            return [public(g) for g in STATE["guests"].values() if g["node"] == node]
        g = guest_on(node, parts[3])
        if parts[4:] == ["status", "current"] and method == "GET":
            d = public(g)
            d["ha"] = {"managed": 0}
            return d
        if parts[4:] == ["config"] and method == "GET":
            d = {"hostname": g["name"], "ostype": "alpine", "memory": 512, "cores": 1,
                 "net0": "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:00:%02X:%02X,ip=10.0.0.%d/24,type=veth"
                         % (g["vmid"] // 256 % 256, g["vmid"] % 256, g["vmid"] % 250),
                 "digest": hashlib.sha1(json.dumps(g, sort_keys=True, default=str).encode()).hexdigest()}
            if g["tags"]:
                d["tags"] = g["tags"]
            if g["lock"]:
                d["lock"] = g["lock"]
            return d
        if len(parts) == 6 and parts[4] == "status" and parts[5] in TASK_TYPES and method == "POST":
            action = parts[5]
            if action == "start" and g["status"] == "running":
                raise PveError(500, "CT %d already running" % g["vmid"])
            if action in ("stop", "shutdown", "reboot", "suspend") and g["status"] != "running":
                raise PveError(500, "CT %d not running" % g["vmid"])
            upid = new_upid(node, TASK_TYPES[action], g["vmid"], user)
            STATE["tasks"][upid] = {"upid": upid, "node": node, "type": TASK_TYPES[action],
                                    "id": str(g["vmid"]), "user": user, "status": "running",
                                    "starttime": int(time.time()), "pid": 0, "pstart": 0}
            delay = g["task_delay_ms"] if g["task_delay_ms"] is not None else ARGS.task_delay_ms
            run_task(upid, g, action, form, delay)
            return upid
    if len(parts) == 5 and parts[0] == "nodes" and parts[2] == "tasks" and parts[4] == "status":
        node_of(parts[1])
        task = STATE["tasks"].get(parts[3])
        if task is None:
            raise PveError(400, "no such task")
        return dict(task)
    raise PveError(501, "Method '%s /%s' not implemented" % (method, path))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # never logs headers, so never the token
        sys.stderr.write("pvesim: %s\n" % (fmt % args))

    def reply(self, status, reason, body):
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n).decode() if n else ""

    def do_GET(self): self.handle_any("GET")
    def do_POST(self): self.handle_any("POST")
    def do_DELETE(self): self.handle_any("DELETE")

    def handle_any(self, method):
        url = urlparse(self.path)
        raw = self.body()
        if url.path.startswith("/_sim/"):
            return self.control(method, url.path[len("/_sim/"):], raw)
        if not url.path.startswith("/api2/json/"):
            return self.reply(404, "Not Found", None)
        path = unquote(url.path[len("/api2/json/"):])  # UPIDs arrive percent-encoded
        with LOCK:
            entry = {"method": method, "path": "/" + path, "query": url.query, "status": 0}
            STATE["requests"].append(entry)
        auth = self.headers.get("Authorization", "")
        if auth != "PVEAPIToken=" + ARGS.token:
            time.sleep(ARGS.auth_fail_delay_ms / 1000.0)
            entry["status"] = 401
            return self.reply(401, "authentication failure", {"data": None})
        with LOCK:
            fault = self.take_fault(method, "/" + path)
        if fault:
            entry["status"] = fault.get("status", 0)
            if fault.get("drop"):
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault.get("delay_ms"):
                time.sleep(fault["delay_ms"] / 1000.0)
            if fault.get("status"):
                reason = fault.get("reason", "")
                body = None if fault["status"] >= 595 else {"data": None, "message": reason + "\n"}
                return self.reply(fault["status"], reason, body)
        user = ARGS.token.split("=", 1)[0]
        try:
            with LOCK:
                data = api(method, path, parse_qs(url.query), {k: v[0] for k, v in parse_qs(raw).items()}, user)
            entry["status"] = 200
            self.reply(200, "OK", {"data": data})
        except PveError as e:
            entry["status"] = e.status
            body = None if e.status >= 595 else dict({"data": None, "message": e.reason + "\n"}, **(e.extra or {}))
            self.reply(e.status, e.reason, body)

    def take_fault(self, method, path):
        for f in STATE["faults"]:
            if f.get("method") not in (None, method) or not re.search(f.get("path_regex", ""), path):
                continue
            if f.get("count", 1) == 0:
                continue
            if f.get("count", 1) > 0:
                f["count"] = f.get("count", 1) - 1
            return f
        return None

    def control(self, method, what, raw):
        obj = json.loads(raw) if raw else {}
        with LOCK:
            parts = what.split("/")
            if what == "reset":
                fresh = default_state(obj.get("nodes", ARGS.nodes))
                if "guests" in obj:
                    fresh["guests"] = {int(g["vmid"]): guest_from(g) for g in obj["guests"]}
                STATE.clear()
                STATE.update(fresh)
            elif parts[0] == "guest" and method == "POST" and len(parts) == 1:
                STATE["guests"][int(obj["vmid"])] = guest_from(obj)
            elif parts[0] == "guest" and method == "POST":
                STATE["guests"][int(parts[1])] = guest_from(obj, STATE["guests"][int(parts[1])])
            elif parts[0] == "guest" and method == "DELETE":
                STATE["guests"].pop(int(parts[1]), None)
            elif parts[0] == "node":
                STATE["nodes"].setdefault(parts[1], {})["online"] = bool(obj.get("online", True))
            elif what == "fault":
                STATE["faults"].append(obj)
            elif what == "clear_faults":
                STATE["faults"] = []
            elif what == "requests":
                return self.reply(200, "OK", {"requests": STATE["requests"]})
            elif what == "clear_requests":
                STATE["requests"] = []
            elif what == "state":
                return self.reply(200, "OK", {"guests": list(STATE["guests"].values()),
                                              "nodes": STATE["nodes"]})
            else:
                return self.reply(404, "no such control", {"ok": False})
        self.reply(200, "OK", {"ok": True})


def main():
    global ARGS
    p = argparse.ArgumentParser()
    p.add_argument("--cert-dir", required=True)
    p.add_argument("--token", required=True)
    p.add_argument("--ready-file", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--nodes", default="pve1,pve2")
    p.add_argument("--task-delay-ms", type=int, default=200)
    p.add_argument("--auth-fail-delay-ms", type=int, default=0)
    ARGS = p.parse_args()
    ARGS.nodes = ARGS.nodes.split(",")
    cert, key = os.path.join(ARGS.cert_dir, "cert.pem"), os.path.join(ARGS.cert_dir, "key.pem")
    os.makedirs(ARGS.cert_dir, exist_ok=True)
    if not os.path.exists(cert):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
    der = ssl.PEM_cert_to_DER_cert(open(cert).read())
    digest = hashlib.sha256(der).hexdigest().upper()
    ARGS.fingerprint = ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))
    STATE.update(default_state(ARGS.nodes))
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    tmp = ARGS.ready_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump({"port": server.server_address[1], "fingerprint": ARGS.fingerprint, "ca": cert}, f)
    os.rename(tmp, ARGS.ready_file)
    server.serve_forever()


if __name__ == "__main__":
    main()
