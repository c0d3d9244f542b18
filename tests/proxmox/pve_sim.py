#!/usr/bin/python3
"""Proxmox VE HTTP API simulator for berth's proxmox.so tests (test code only).

Serves the subset of https://HOST:8006/api2/json that the plugin uses, with the
shapes documented in docs/notes proxmox-api.md: {"data": ...} replies, errors in
the HTTP reason phrase plus {"data":null,"message":"<text>\\n"}, API-token auth,
UPID tasks that finish in a background thread after a delay, and an
unauthenticated control API under /_sim (state, faults, request log).

  pve_sim.py --cert-dir DIR --token 'root@pam!berth=SECRET' --ready-file PATH
             [--port 0] [--nodes pve1,pve2] [--task-delay-ms 200]
             [--auth-fail-delay-ms 0]

PATH receives (atomically) {"port": N, "fingerprint": "AB:CD:...", "ca": "DIR/cert.pem"}.
Standard library only.
"""
import argparse, hashlib, hmac, json, os, re, signal, socket, ssl, subprocess, sys
import threading, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

LOCK = threading.RLock()   # guards STATE; task threads take it to apply results
STATE = {}
ARGS = None
PREFIX = "/api2/json"
OFFLINE_REASON = "Errors during connection establishment, proxy handshake: No route to host"
MIB = 1024 * 1024


class ApiError(Exception):
    """An error reply: status, reason phrase, optional extra body fields (None body = empty)."""
    def __init__(self, status, reason, body=None, empty=False):
        super().__init__(reason)
        self.status, self.reason, self.body, self.empty = status, reason, body, empty


def make_guest(vmid, node, name="ct", status="stopped", tags=None, template=0, lock=None,
               ignores_shutdown=False, task_delay_ms=None, type="lxc", net0=None, **_):
    g = {"vmid": int(vmid), "type": type, "node": node, "name": name, "status": "stopped",
         "tags": tags or None, "template": 1 if template else 0, "lock": lock or None,
         "ignores_shutdown": bool(ignores_shutdown), "task_delay_ms": task_delay_ms,
         "net0": net0, "pid": None, "started_at": None}
    set_status(g, status)
    return g


def set_status(g, status):
    if status not in ("running", "stopped"):
        raise ApiError(400, "status must be running or stopped")
    if status == "running" and g["status"] != "running":
        STATE["pid_counter"] = STATE.get("pid_counter", 20000) + 1
        g["pid"], g["started_at"] = STATE["pid_counter"], time.time()
    elif status == "stopped":
        g["pid"], g["started_at"] = None, None
    g["status"] = status


def reset_state(nodes=None, guests=None, qemu_vm=True):
    nodes = nodes or ARGS.nodes
    gen = STATE.get("gen", 0) + 1    # lets running task threads notice a reset
    STATE.clear()
    STATE.update(nodes={n: {"online": True} for n in nodes}, guests={}, tasks={}, faults=[],
                 requests=[], gen=gen, task_counter=0)
    if guests is None:
        guests = [dict(vmid=101, node=nodes[0], name="web", status="running", tags="proxy;web"),
                  dict(vmid=102, node=nodes[0], name="db", status="stopped"),
                  dict(vmid=103, node=nodes[0], name="tmpl", status="stopped", template=1)]
    for spec in guests:
        g = make_guest(**spec)
        STATE["guests"][g["vmid"]] = g
    # One qemu VM, so clients of /cluster/resources must filter on type.
    if qemu_vm and 900 not in STATE["guests"]:
        STATE["guests"][900] = make_guest(900, nodes[0], "vm900", "running", type="qemu")


# ---------------------------------------------------------------- views of a guest
def metrics(g):
    up = g["status"] == "running"
    return {"uptime": int(time.time() - g["started_at"]) if up else 0,
            "cpu": 0.0123 if up else 0, "maxmem": 512 * MIB, "mem": 64 * MIB if up else 0,
            "maxdisk": 8192 * MIB, "disk": 1024 * MIB, "netin": 1000 if up else 0,
            "netout": 2000 if up else 0, "diskread": 4096 if up else 0, "diskwrite": 0}


def resource_entry(g):   # GET /cluster/resources
    e = {"id": "%s/%d" % (g["type"], g["vmid"]), "type": g["type"], "vmid": g["vmid"],
         "node": g["node"], "status": g["status"], "name": g["name"], "template": g["template"],
         "maxcpu": 1}
    e.update(metrics(g))
    for k in ("tags", "lock"):
        if g[k]:
            e[k] = g[k]
    return e


def lxc_entry(g):        # GET /nodes/{node}/lxc and status/current
    e = {"vmid": g["vmid"], "type": "lxc", "name": g["name"], "status": g["status"],
         "cpus": 1, "swap": 0, "maxswap": 512 * MIB}
    e.update(metrics(g))
    if g["pid"] is not None:
        e["pid"] = g["pid"]
    for k in ("tags", "lock"):
        if g[k]:
            e[k] = g[k]
    if g["template"]:
        e["template"] = 1
    return e


def lxc_config(g):
    v = g["vmid"]
    net0 = g["net0"] or "name=eth0,bridge=vmbr0,hwaddr=BC:24:11:%02X:%02X:%02X,ip=10.0.%d.%d/24,type=veth" % (
        (v >> 16) & 255, (v >> 8) & 255, v & 255, (v // 250) % 250, v % 250 + 1)
    c = {"hostname": g["name"], "net0": net0, "ostype": "debian", "memory": 512, "swap": 512,
         "cores": 1, "arch": "amd64", "rootfs": "local-lvm:vm-%d-disk-0,size=8G" % v}
    for k in ("tags", "lock"):
        if g[k]:
            c[k] = g[k]
    if g["template"]:
        c["template"] = 1
    c["digest"] = hashlib.sha1(json.dumps(c, sort_keys=True).encode()).hexdigest()
    return c


# ---------------------------------------------------------------- API helpers
def check_node(node):
    if node not in STATE["nodes"]:
        raise ApiError(500, "hostname lookup '%s' failed - failed to get address info for: %s: "
                            "Name or service not known" % (node, node))
    if not STATE["nodes"][node]["online"]:
        raise ApiError(595, OFFLINE_REASON, empty=True)


def check_vmid(raw):
    if not re.fullmatch(r"[0-9]+", raw):
        msg = "type check ('integer') failed - got '%s'" % raw
    elif int(raw) < 100:
        msg = "value must have a minimum value of 100"
    elif int(raw) > 999999999:
        msg = "value must have a maximum value of 999999999"
    else:
        return int(raw)
    raise ApiError(400, "Parameter verification failed.", {"errors": {"vmid": msg}})


def find_ct(node, vmid):
    g = STATE["guests"].get(vmid)
    if not g or g["node"] != node or g["type"] != "lxc":
        raise ApiError(500, "Configuration file 'nodes/%s/lxc/%d.conf' does not exist" % (node, vmid))
    return g


def token_user():
    return ARGS.token.split("=", 1)[0]   # user@realm!tokenid


def start_task(node, g, action, params):
    """Create a UPID task for action on guest g; it finishes in a background thread."""
    STATE["task_counter"] += 1
    pid = 100000 + STATE["task_counter"]
    pstart = (int(time.monotonic() * 100) + STATE["task_counter"]) & 0xFFFFFFFF
    start = int(time.time())
    ttype, user = "vz" + action, token_user()
    upid = "UPID:%s:%08X:%08X:%08X:%s:%d:%s:" % (node, pid, pstart, start, ttype, g["vmid"], user)
    STATE["tasks"][upid] = {"upid": upid, "node": node, "pid": pid, "pstart": pstart,
                            "starttime": start, "type": ttype, "id": str(g["vmid"]),
                            "user": user, "status": "running"}
    delay = g["task_delay_ms"] if g["task_delay_ms"] is not None else ARGS.task_delay_ms
    delay /= 1000.0
    force = str(params.get("forceStop", "0")).lower() in ("1", "true", "yes", "on")
    if action == "shutdown" and g["ignores_shutdown"]:
        delay = float(params.get("timeout", 60))   # the guest ignores the request: wait it out
    threading.Thread(target=finish_task, daemon=True,
                     args=(upid, g["vmid"], node, action, delay, force, STATE["gen"])).start()
    return upid


def finish_task(upid, vmid, node, action, delay, force, gen):
    time.sleep(delay)
    with LOCK:
        if STATE.get("gen") != gen:
            return              # state was reset meanwhile: forget this task
        g = STATE["guests"].get(vmid)
        if not g or g["node"] != node:
            res = "Configuration file 'nodes/%s/lxc/%d.conf' does not exist" % (node, vmid)
        elif g["lock"]:
            res = "CT is locked (%s)" % g["lock"]
        elif action == "suspend":
            res = "command 'lxc-checkpoint -n %d -s -D /var/lib/vz/dump' failed: exit code 1" % vmid
        elif action == "resume":
            res = "command 'lxc-checkpoint -n %d -r --foreground -D /var/lib/vz/dump' failed: exit code 1" % vmid
        elif action == "start":
            res = "CT %d already running" % vmid if g["status"] == "running" else "OK"
            set_status(g, "running")
        elif g["status"] != "running":
            res = "CT %d not running" % vmid
        elif action == "shutdown" and g["ignores_shutdown"] and not force:
            res = "container did not stop"
        elif action == "reboot":
            set_status(g, "stopped"); set_status(g, "running"); res = "OK"
        else:                   # stop, shutdown (possibly forced)
            set_status(g, "stopped"); res = "OK"
        STATE["tasks"][upid].update(status="stopped", exitstatus=res, endtime=int(time.time()))


# ---------------------------------------------------------------- API routes
def api(method, parts, query, params):
    """Dispatch one authenticated /api2/json request; parts = path segments after the prefix."""
    n = len(parts)
    if method == "GET" and parts == ["version"]:
        return {"version": "8.2.4", "release": "8.2", "repoid": "faa83925c9641325"}
    if method == "GET" and parts == ["nodes"]:
        out = []
        for name, st in STATE["nodes"].items():
            e = {"node": name, "id": "node/" + name, "type": "node", "level": "",
                 "status": "online" if st["online"] else "offline", "ssl_fingerprint": FINGERPRINT}
            if st["online"]:
                e.update(maxcpu=4, cpu=0.02, maxmem=8192 * MIB, mem=2048 * MIB, uptime=86400)
            out.append(e)
        return out
    if method == "GET" and parts == ["cluster", "resources"]:
        typ = query.get("type", [None])[0]
        out = []
        if typ in (None, "node"):
            out += [{"id": "node/" + n_, "type": "node", "node": n_,
                     "status": "online" if st["online"] else "offline"}
                    for n_, st in STATE["nodes"].items()]
        if typ in (None, "vm"):   # a dead node's guests keep their last status
            out += [resource_entry(g) for g in sorted(STATE["guests"].values(), key=lambda g: g["vmid"])]
        return out
    if n >= 2 and parts[0] == "nodes":
        node = parts[1]
        check_node(node)
        if method == "GET" and n == 3 and parts[2] == "lxc":
            return [lxc_entry(g) for g in sorted(STATE["guests"].values(), key=lambda g: g["vmid"])
                    if g["node"] == node and g["type"] == "lxc"]
        if method == "GET" and n == 5 and parts[2] == "tasks" and parts[4] == "status":
            t = STATE["tasks"].get(parts[3])
            if not t:
                raise ApiError(400, "no such task")
            return {k: v for k, v in t.items() if k != "endtime"}
        if n >= 4 and parts[2] == "lxc":
            vmid = check_vmid(parts[3])
            rest = parts[4:]
            if method == "GET" and rest == ["config"]:
                return lxc_config(find_ct(node, vmid))
            if method == "GET" and rest == ["status", "current"]:
                e = lxc_entry(find_ct(node, vmid))
                e["ha"] = {"managed": 0}
                return e
            actions = ("start", "stop", "shutdown", "reboot", "suspend", "resume")
            if method == "POST" and len(rest) == 2 and rest[0] == "status" and rest[1] in actions:
                g, action = find_ct(node, vmid), rest[1]
                if action == "start" and g["template"]:
                    raise ApiError(500, "you can't start a CT if it's a template")
                if action == "start" and g["status"] == "running":
                    raise ApiError(500, "CT %d already running" % vmid)
                if action in ("stop", "shutdown", "reboot", "suspend") and g["status"] != "running":
                    raise ApiError(500, "CT %d not running" % vmid)
                return start_task(node, g, action, params)
    raise ApiError(501, "Method '%s %s' not implemented" % (method, PREFIX + "/" + "/".join(parts)))


# ---------------------------------------------------------------- control API (/_sim)
def sim(method, parts, body):
    if method == "POST" and parts == ["reset"]:
        reset_state(body.get("nodes"), body.get("guests"), body.get("qemu_vm", True))
        return {}
    if method == "GET" and parts == ["state"]:
        return {"nodes": STATE["nodes"],
                "guests": [dict(g) for g in sorted(STATE["guests"].values(), key=lambda g: g["vmid"])],
                "tasks": list(STATE["tasks"].values())}
    if method == "GET" and parts == ["requests"]:
        return {"requests": list(STATE["requests"])}
    if method == "POST" and parts == ["clear_requests"]:
        STATE["requests"].clear(); return {}
    if method == "POST" and parts == ["clear_faults"]:
        STATE["faults"].clear(); return {}
    if method == "POST" and parts == ["fault"]:
        f = {"path_regex": body.get("path_regex", ".*"), "method": body.get("method"),
             "status": int(body.get("status", 500)), "reason": body.get("reason", "Internal error"),
             "count": int(body.get("count", 1)), "drop": bool(body.get("drop", False))}
        re.compile(f["path_regex"])
        STATE["faults"].append(f)
        return {"fault": f}
    if method == "POST" and parts == ["guest"]:
        g = make_guest(**body)
        STATE["guests"][g["vmid"]] = g
        return {"guest": g}
    if len(parts) == 2 and parts[0] == "guest":
        vmid = int(parts[1])
        g = STATE["guests"].get(vmid)
        if not g:
            raise ApiError(404, "no guest %d" % vmid)
        if method == "DELETE":
            del STATE["guests"][vmid]; return {}
        if method == "POST":    # a change "by someone else": immediate, no task
            for k in ("lock", "tags", "net0"):
                if k in body:
                    g[k] = body[k] or None
            for k in ("name", "task_delay_ms", "ignores_shutdown", "template"):
                if k in body:
                    g[k] = body[k]
            if "node" in body:
                if body["node"] not in STATE["nodes"]:
                    raise ApiError(400, "unknown node %s" % body["node"])
                g["node"] = body["node"]
            if "status" in body:
                set_status(g, body["status"])
            return {"guest": g}
    if method == "POST" and len(parts) == 2 and parts[0] == "node":
        STATE["nodes"].setdefault(parts[1], {"online": True})["online"] = bool(body.get("online", True))
        return {"node": parts[1], "online": STATE["nodes"][parts[1]]["online"]}
    raise ApiError(404, "unknown control request %s /_sim/%s" % (method, "/".join(parts)))


# ---------------------------------------------------------------- HTTP plumbing
class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "pve-api-daemon/3.0"

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):   # no default logging (never log headers)
        pass

    def log_line(self, status):
        sys.stderr.write("pve_sim: %s %s %s\n" % (self.command, self.path.split("?")[0], status))

    def reply(self, status, reason, payload, empty=False):
        data = b"" if empty else json.dumps(payload).encode()
        self.send_response(status, reason)
        self.send_header("Content-Type", "application/json;charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "max-age=0")
        self.end_headers()
        self.wfile.write(data)
        self.log_line(status)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return raw

    def handle_any(self):
        url = urlsplit(self.path)
        raw = self.read_body()
        if url.path.startswith("/_sim/") or url.path == "/_sim":
            return self.handle_sim(url, raw)
        if not (url.path + "/").startswith(PREFIX + "/"):
            return self.reply(404, "Not Found", {"data": None})
        entry = {"method": self.command, "path": url.path, "query": url.query, "status": None}
        status = self.handle_api(url, raw, entry)
        entry["status"] = status
        with LOCK:
            STATE["requests"].append(entry)

    def handle_api(self, url, raw, entry):
        """Returns the status sent (0 for a dropped connection)."""
        auth = self.headers.get("Authorization", "")
        if not hmac.compare_digest(auth.encode(), ("PVEAPIToken=" + ARGS.token).encode()):
            if ARGS.auth_fail_delay_ms:
                time.sleep(ARGS.auth_fail_delay_ms / 1000.0)
            self.reply(401, "authentication failure",
                       {"data": None, "message": "authentication failure\n"})
            return 401
        with LOCK:
            fault = None
            for f in STATE["faults"]:
                if (f["method"] is None or f["method"].upper() == self.command) and \
                        re.search(f["path_regex"], url.path) and f["count"] != 0:
                    fault = dict(f)
                    if f["count"] > 0:
                        f["count"] -= 1
                    break
            STATE["faults"][:] = [f for f in STATE["faults"] if f["count"] != 0]
        if fault and fault["drop"]:
            self.log_line("dropped")
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return 0
        if fault:
            empty = fault["status"] in (595, 596, 599)
            self.reply(fault["status"], fault["reason"],
                       {"data": None, "message": fault["reason"] + "\n"}, empty)
            return fault["status"]
        params = {k: v[-1] for k, v in parse_qs(url.query).items()}
        ctype = self.headers.get("Content-Type", "")
        if raw and "json" in ctype:
            params.update(json.loads(raw))
        elif raw:
            params.update({k: v[-1] for k, v in parse_qs(raw.decode()).items()})
        query = parse_qs(url.query)
        parts = [unquote(p) for p in url.path[len(PREFIX):].split("/") if p]
        try:
            with LOCK:
                data = api(self.command, parts, query, params)
            self.reply(200, "OK", {"data": data})
            return 200
        except ApiError as e:
            body = {"data": None, "message": e.reason + "\n"}
            body.update(e.body or {})
            self.reply(e.status, e.reason, body, e.empty)
            return e.status

    def handle_sim(self, url, raw):
        parts = [unquote(p) for p in url.path.split("/")[2:] if p]
        try:
            body = json.loads(raw) if raw.strip() else {}
            with LOCK:
                out = sim(self.command, parts, body)
            self.reply(200, "OK", dict(ok=True, **out))
        except ApiError as e:
            self.reply(e.status, "Error", {"ok": False, "error": e.reason})
        except (ValueError, TypeError, KeyError, re.error) as e:
            self.reply(400, "Bad Request", {"ok": False, "error": "%s: %s" % (type(e).__name__, e)})

    do_GET = do_POST = do_PUT = do_DELETE = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):   # one line, e.g. a client rejecting the cert
        sys.stderr.write("pve_sim: connection error: %s\n" % (sys.exc_info()[1],))


def make_cert(d):
    os.makedirs(d, exist_ok=True)
    d = os.path.abspath(d)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", key, "-out", cert], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(cert) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    fp = hashlib.sha256(der).hexdigest().upper()
    return cert, key, ":".join(fp[i:i + 2] for i in range(0, len(fp), 2))


def main():
    global ARGS, FINGERPRINT
    p = argparse.ArgumentParser(description="Proxmox VE API simulator")
    p.add_argument("--cert-dir", required=True)
    p.add_argument("--token", required=True, help="USER@REALM!TOKENID=SECRET")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--nodes", default="pve1")
    p.add_argument("--task-delay-ms", type=int, default=200)
    p.add_argument("--auth-fail-delay-ms", type=int, default=0)
    p.add_argument("--ready-file", required=True)
    ARGS = p.parse_args()
    ARGS.nodes = [n for n in ARGS.nodes.split(",") if n]
    if "=" not in ARGS.token or "!" not in ARGS.token:
        p.error("--token must look like user@realm!tokenid=secret")
    cert, key, FINGERPRINT = make_cert(ARGS.cert_dir)
    reset_state()
    httpd = Server(("127.0.0.1", ARGS.port), Handler)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    # Handshake lazily in the per-connection thread, so a stuck client can't block accept().
    httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True, do_handshake_on_connect=False)
    port = httpd.server_address[1]
    tmp = ARGS.ready_file + ".tmp.%d" % os.getpid()
    with open(tmp, "w") as f:
        json.dump({"port": port, "fingerprint": FINGERPRINT, "ca": cert}, f)
    os.replace(tmp, ARGS.ready_file)
    sys.stderr.write("pve_sim: listening on https://127.0.0.1:%d nodes=%s\n" % (port, ",".join(ARGS.nodes)))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        httpd.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass


FINGERPRINT = ""
if __name__ == "__main__":
    main()
