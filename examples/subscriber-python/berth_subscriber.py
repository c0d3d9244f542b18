#!/usr/bin/python3
"""A berth subscriber in Python (python3-zmq), following docs/protocol.md §3:

  1. connect SUB and subscribe, keeping messages queued;
  2. ask the command socket for a snapshot (state + the seq it is consistent with);
  3. drop queued messages with seq <= snapshot seq, apply the rest in order;
  4. a seq that skips (or a heartbeat ahead of us) is a gap: take a new snapshot.

Usable as a module (BerthView) and as a command that prints events:
    berth_subscriber.py [--events ENDPOINT] [--commands ENDPOINT] [--count N]
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


class BerthView:
    """Every container berth knows, kept current from snapshot + stream."""

    def __init__(self, events, commands, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.commands = commands
        self.sub = self.ctx.socket(zmq.SUB)
        self.sub.setsockopt(zmq.SUBSCRIBE, b"container/")
        self.sub.setsockopt(zmq.SUBSCRIBE, b"provider/")
        self.sub.setsockopt(zmq.SUBSCRIBE, b"daemon/")
        self.sub.connect(events)
        self.containers = {}   # (provider, id) -> container dict
        self.seq = 0
        self.gaps = 0
        self._wait_subscribed()
        self.resync()

    def _wait_subscribed(self):
        # A heartbeat proves the subscription is live (no message is lost after it).
        while self.sub.poll(10000):
            topic, _ = self.sub.recv_multipart()
            if topic.startswith(b"daemon/"):
                return
        raise RuntimeError("no heartbeat from berthd on the events socket")

    def call(self, request, timeout_ms=15000):
        req = self.ctx.socket(zmq.REQ)
        req.setsockopt(zmq.LINGER, 0)
        req.connect(self.commands)
        try:
            req.send_string(json.dumps(request))
            if not req.poll(timeout_ms):
                raise TimeoutError("berthd did not answer %s" % request.get("op"))
            reply = json.loads(req.recv())
        finally:
            req.close()
        if not reply.get("ok"):
            raise RuntimeError("%(code)s: %(message)s" % reply["error"])
        return reply["result"]

    def resync(self):
        snap = self.call({"op": "snapshot"})
        self.containers = {(p, c["id"]): c for p, prov in snap["providers"].items() for c in prov["containers"]}
        self.seq = snap["seq"]

    def next(self, timeout_ms=None):
        """The next message applied to the view, as (topic, body); None on timeout.
        Messages the snapshot already covers are skipped; a gap triggers a resync
        and is returned as ("gap", {...})."""
        while True:
            if not self.sub.poll(timeout_ms):
                return None
            topic, raw = self.sub.recv_multipart()
            body = json.loads(raw)
            topic = topic.decode()
            seq = body["seq"]
            if topic.startswith("daemon/"):
                if seq > self.seq:  # the daemon moved on without us
                    return self._gap(seq)
                if topic == "daemon/stopping":
                    return topic, body
                continue
            if seq <= self.seq:
                continue  # already in the snapshot
            if seq != self.seq + 1:
                return self._gap(seq)
            self.seq = seq
            if topic.startswith("container/"):
                self._apply(body)
            return topic, body

    def _gap(self, seen):
        missed = seen - self.seq - 1
        self.gaps += 1
        self.resync()
        return "gap", {"missed_at_least": max(missed, 1), "resynced_to": self.seq}

    def _apply(self, ev):
        key = (ev["provider"], ev["container"]["id"])
        if ev["type"] == "destroyed":
            self.containers.pop(key, None)
            return
        c = self.containers.setdefault(key, {"provider": ev["provider"], "id": ev["container"]["id"]})
        c.update({k: v for k, v in ev["container"].items() if k != "routing" or v is not None})


def main():
    rt = default_runtime_dir()
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--events", default=os.environ.get("BERTH_EVENTS_ENDPOINT", "ipc://%s/events.sock" % rt))
    p.add_argument("--commands", default=os.environ.get("BERTH_ENDPOINT", "ipc://%s/commands.sock" % rt))
    p.add_argument("--count", type=int, default=0, help="exit after N events (0 = run forever)")
    a = p.parse_args()
    view = BerthView(a.events, a.commands)
    print("snapshot: %d containers at seq %d" % (len(view.containers), view.seq), flush=True)
    n = 0
    while a.count == 0 or n < a.count:
        msg = view.next()
        topic, body = msg
        if topic == "gap":
            print("gap: resynced to seq %(resynced_to)d" % body, flush=True)
            continue
        if topic == "daemon/stopping":
            print("berthd is stopping", flush=True)
            return
        if topic.startswith("container/"):
            c = body["container"]
            extra = " exit_code=%d" % body["exit_code"] if body.get("exit_code") is not None else ""
            print("%d %s %s %s%s" % (body["seq"], body["provider"], body["type"], c["name"], extra), flush=True)
        else:
            print("%d %s %s" % (body["seq"], topic, body.get("reason", "")), flush=True)
        n += 1


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
