#!/usr/bin/python3
"""A berth subscriber in Python (python3-zmq), following docs/protocol.md §3:

  1. connect SUB and subscribe, keeping messages queued;
  2. ask the command socket for a snapshot (state + the seq it is consistent with);
  3. drop queued messages with seq <= snapshot seq, apply the rest in order;
  4. a seq that skips (or a heartbeat ahead of us) is a gap: take a new snapshot;
  5. a message of a new "run_id" is a restarted berthd (seq counts from 1 again):
     take its snapshot; messages of a run already left are stragglers: dropped.

With several daemons (one --commands each; events from each daemon, or all through one
relay) it keeps one view per daemon: seq is per daemon (the "daemon_name" of each message),
and so is the snapshot a gap is recovered from.

Usable as a module (BerthView) and as a command that prints events:
    berth_subscriber.py [--events ENDPOINT]... [--commands ENDPOINT]... [--count N]
                        [--server-key FILE.pub --client-key FILE]     (CURVE)
Endpoints default to the daemon's own defaults ($BERTH_RUNTIME_DIR, $XDG_RUNTIME_DIR/berth,
/run/berth for root, /tmp/berth-$UID).
"""
import argparse, json, os, sys
import zmq


def default_runtime_dir():
    for env in ("BERTH_RUNTIME_DIR",):
        if os.environ.get(env):
            return os.environ[env]
    if os.environ.get("XDG_RUNTIME_DIR"):
        return os.path.join(os.environ["XDG_RUNTIME_DIR"], "berth")
    return "/run/berth" if os.getuid() == 0 else "/tmp/berth-%d" % os.getuid()


def read_key(path, name):
    """A line "name=..." of a key file as `berthctl keygen` writes them."""
    with open(path) as f:
        for line in f:
            if line.startswith(name + "="):
                return line.strip().split("=", 1)[1]
    raise RuntimeError("%s has no %s= line" % (path, name))


class Curve:
    def __init__(self, server_key_file, client_key_file):
        self.server = read_key(server_key_file, "public")
        self.public = read_key(client_key_file, "public")
        self.secret = read_key(client_key_file, "secret")

    def apply(self, sock):
        sock.curve_serverkey = self.server.encode()
        sock.curve_publickey = self.public.encode()
        sock.curve_secretkey = self.secret.encode()


class BerthView:
    """Every container berth knows, kept current from snapshot + stream, per daemon."""

    def __init__(self, events, commands, ctx=None, curve=None):
        self.ctx = ctx or zmq.Context.instance()
        self.curve = curve
        events = [events] if isinstance(events, str) else list(events)
        commands = [commands] if isinstance(commands, str) else list(commands)
        self.sub = self.ctx.socket(zmq.SUB)
        for prefix in (b"container/", b"provider/", b"daemon/"):
            self.sub.setsockopt(zmq.SUBSCRIBE, prefix)
        if curve:
            curve.apply(self.sub)
        for e in events:
            self.sub.connect(e)
        # daemon_name -> its command socket, as each daemon names itself.
        self.commands = {self.call_at(c, {"op": "ping"}).get("daemon_name", ""): c for c in commands}
        self.containers = {}   # (daemon, provider, id) -> container dict
        self.seq = {name: 0 for name in self.commands}
        self.run = {name: None for name in self.commands}   # the run the view follows
        self.left = {name: set() for name in self.commands}  # runs it has left (they never return)
        self.gaps = 0
        self.restarts = 0
        self._wait_subscribed()
        for name in self.commands:
            self.resync(name)

    def _wait_subscribed(self):
        # A heartbeat of every daemon proves its subscription is live.
        heard = set()
        while heard != set(self.commands) and self.sub.poll(10000):
            topic, raw = self.sub.recv_multipart()
            if topic.startswith(b"daemon/"):
                heard.add(json.loads(raw).get("daemon_name", ""))
        if heard != set(self.commands):
            raise RuntimeError("no heartbeat from %s on the events socket" % sorted(set(self.commands) - heard))

    def call(self, request, timeout_ms=15000, daemon=None):
        """One request to a daemon's command socket: the named one, or the only one."""
        if daemon is None:
            if len(self.commands) != 1:
                raise ValueError("several daemons: name one")
            daemon = next(iter(self.commands))
        return self.call_at(self.commands[daemon], request, timeout_ms)

    def call_at(self, endpoint, request, timeout_ms=15000):
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        if self.curve:
            self.curve.apply(req)
        req.connect(endpoint)
        try:
            req.send_string(json.dumps(request))
            if not req.poll(timeout_ms):
                raise TimeoutError("berthd at %s did not answer %s" % (endpoint, request.get("op")))
            reply = json.loads(req.recv())
        finally:
            req.close()
        if not reply.get("ok"):
            raise RuntimeError("%(code)s: %(message)s" % reply["error"])
        return reply["result"]

    def resync(self, daemon):
        snap = self.call_at(self.commands[daemon], {"op": "snapshot"})
        for key in [k for k in self.containers if k[0] == daemon]:
            del self.containers[key]
        for p, prov in snap["providers"].items():
            for c in prov["containers"]:
                self.containers[(daemon, p, c["id"])] = c
        run = snap.get("run_id", "")
        if self.run[daemon] is not None and self.run[daemon] != run:
            self.left[daemon].add(self.run[daemon])
        self.run[daemon] = run
        self.seq[daemon] = snap["seq"]

    def next(self, timeout_ms=None):
        """The next message applied to the view, as (topic, body); None on timeout.
        Messages a snapshot already covers are skipped; a gap triggers a resync of that
        daemon and is returned as ("gap", {...}); a restarted daemon (a new run), as
        ("restart", {...})."""
        while True:
            if not self.sub.poll(timeout_ms):
                return None
            topic, raw = self.sub.recv_multipart()
            body = json.loads(raw)
            daemon = body.get("daemon_name", "")
            if daemon not in self.seq:
                continue  # a daemon we have no command socket for
            topic = topic.decode()
            seq = body["seq"]
            run = body.get("run_id", "")
            if run != self.run[daemon]:
                if run in self.left[daemon]:
                    continue  # a straggler of the berthd that was
                return self._restart(daemon, run)
            if topic == "daemon/stopping":
                return topic, body  # its last message, whatever its seq: its next run will show
            if topic.startswith("daemon/"):
                if seq > self.seq[daemon]:  # the daemon moved on without us
                    return self._gap(daemon, seq)
                continue
            if seq <= self.seq[daemon]:
                continue  # already in the snapshot
            if seq != self.seq[daemon] + 1:
                return self._gap(daemon, seq)
            self.seq[daemon] = seq
            if topic.startswith("container/"):
                self._apply(daemon, body)
            return topic, body

    def _gap(self, daemon, seen):
        missed = seen - self.seq[daemon] - 1
        self.gaps += 1
        self.resync(daemon)
        return "gap", {"daemon": daemon, "missed_at_least": max(missed, 1), "resynced_to": self.seq[daemon]}

    def _restart(self, daemon, run):
        old = self.run[daemon]
        self.restarts += 1
        self.resync(daemon)
        if self.run[daemon] != run:
            self.left[daemon].add(run)  # it asked for this snapshot, yet the snapshot is a later run's
        return "restart", {"daemon": daemon, "run": self.run[daemon], "was": old, "resynced_to": self.seq[daemon]}

    def _apply(self, daemon, ev):
        key = (daemon, ev["provider"], ev["container"]["id"])
        if ev["type"] == "destroyed":
            self.containers.pop(key, None)
            return
        c = self.containers.setdefault(key, {"provider": ev["provider"], "id": ev["container"]["id"]})
        c.update({k: v for k, v in ev["container"].items() if k != "routing" or v is not None})


def main():
    rt = default_runtime_dir()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", action="append", help="an events socket (repeatable; a relay counts as one)")
    p.add_argument("--commands", action="append", help="a daemon's command socket (repeatable)")
    p.add_argument("--count", type=int, default=0, help="exit after N events (0 = run forever)")
    p.add_argument("--server-key", help="the daemons' CURVE public key file (FILE.pub)")
    p.add_argument("--client-key", help="this client's key file from `berthctl keygen`")
    a = p.parse_args()
    if bool(a.server_key) != bool(a.client_key):
        p.error("--server-key and --client-key go together")
    events = a.events or [os.environ.get("BERTH_EVENTS_ENDPOINT", "ipc://%s/events.sock" % rt)]
    commands = a.commands or [os.environ.get("BERTH_ENDPOINT", "ipc://%s/commands.sock" % rt)]
    curve = Curve(a.server_key, a.client_key) if a.server_key else None
    view = BerthView(events, commands, curve=curve)
    several = len(view.commands) > 1
    label = lambda d: (" " + d) if several else ""
    for d in sorted(view.commands):
        count = sum(1 for k in view.containers if k[0] == d)
        print("snapshot%s: %d containers at seq %d" % (label(d), count, view.seq[d]), flush=True)
    n = 0
    while a.count == 0 or n < a.count:
        topic, body = view.next()
        if topic == "gap":
            print("gap%s: resynced to seq %d" % (label(body["daemon"]), body["resynced_to"]), flush=True)
            continue
        if topic == "restart":
            print("restart%s: run %s (was %s), resynced to seq %d" % (label(body["daemon"]), body["run"], body["was"],
                                                                   body["resynced_to"]), flush=True)
            continue
        daemon = body.get("daemon_name", "")
        prefix = (daemon + " ") if several else ""
        if topic == "daemon/stopping":
            print("berthd %s is stopping" % daemon, flush=True)
            if not several:
                return
            continue
        if topic.startswith("container/"):
            c = body["container"]
            extra = " exit_code=%d" % body["exit_code"] if body.get("exit_code") is not None else ""
            print("%s%d %s %s %s%s" % (prefix, body["seq"], body["provider"], body["type"], c["name"], extra), flush=True)
        else:
            print("%s%d %s %s" % (prefix, body["seq"], topic, body.get("reason", "")), flush=True)
        n += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
