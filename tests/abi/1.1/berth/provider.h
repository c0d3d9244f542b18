/*
 * berth/provider.h — the berth provider ABI, version 1.
 *
 * This file is the whole contract between berthd (the host) and a provider
 * plugin. It is plain C11, has no dependencies, and there is nothing to link:
 * a plugin is a shared object that exports ONE symbol, berth_provider_entry.
 *
 * ---------------------------------------------------------------------------
 * 1. Versioning and negotiation
 * ---------------------------------------------------------------------------
 * - BERTH_ABI_MAJOR changes only when an existing field or function changes
 *   meaning. Host and plugin must agree on it exactly; otherwise the host
 *   refuses the plugin with a log line naming both versions and keeps running.
 * - BERTH_ABI_MINOR grows when fields are APPENDED to a struct or a function
 *   is APPENDED to a table. Nothing is ever removed or reordered within a
 *   major version.
 * - Every struct that crosses the boundary starts with `uint32_t struct_size`
 *   (set it to sizeof the struct as YOU compiled it). A reader never touches a
 *   field that lies beyond the writer's struct_size; such a field reads as
 *   absent (NULL / 0). This is how an old plugin works with a new host and a
 *   new plugin with an old host.
 * - The first exchange is berth_provider_entry(host). The first three fields
 *   of berth_host and of berth_plugin_info (struct_size, abi_major,
 *   abi_minor) are frozen forever, so each side can read the other's version
 *   before anything else. A plugin that sees a host major it does not speak
 *   returns NULL (or its info; the host checks the major either way).
 *
 * ---------------------------------------------------------------------------
 * 2. Ownership (who frees what, and when)
 * ---------------------------------------------------------------------------
 * - Nothing allocated on one side is ever freed by the other; there is no
 *   allocator service because no ownership is ever transferred.
 * - Strings and arrays the HOST passes in (instance name, config JSON, refs,
 *   signal names) are borrowed: valid only until the call returns. Copy what
 *   you keep.
 * - Structs the PLUGIN passes to the host (berth_container through a sink,
 *   berth_event through emit, messages through call_fail/log) are borrowed by
 *   the host only for the duration of that host call: the host copies what it
 *   needs before returning. Stack buffers are fine.
 * - berth_plugin_info and the berth_provider_ops it points to must stay valid
 *   and unchanged until the library is unloaded (make them static const).
 * - The berth_host table and every berth_host_ctx* stay valid from the call
 *   that hands them over until destroy() returns for that instance (host
 *   table: until unload). A berth_call* is valid only during the op it was
 *   passed to; never keep it.
 * - All strings are NUL-terminated UTF-8. JSON strings are complete documents.
 *
 * ---------------------------------------------------------------------------
 * 3. Threads and concurrency
 * ---------------------------------------------------------------------------
 * - berth_provider_entry is called once, on the host's main thread, right
 *   after the library is loaded.
 * - create() may run concurrently for DIFFERENT instances. destroy() for an
 *   instance is called exactly once, after watch_stop() (if watching) has
 *   returned and after every other op on that instance has returned; nothing
 *   is called on the instance afterwards. An instance whose op or
 *   watch_stop() is still running when shutdown's time is up is never
 *   destroyed (and its library never unloaded); the log names it.
 * - The host runs ops (list ... restart) on threads it starts on demand: one
 *   thread per op in flight, at most the instance's `max_calls` (berthd's
 *   config) at once; further ops wait in the host's queue, not in a thread.
 *   A slow or stuck op therefore delays only calls of its own instance.
 * - Lifecycle ops (start, stop, kill, pause, unpause, restart) on ONE
 *   container run one at a time, in arrival order. (The host tells refs
 *   apart by its own view: "web" and web's id are the same container once
 *   berthd has listed it.) Reads (list, inspect, status) never wait for
 *   lifecycle ops: they may run concurrently with anything, so the instance
 *   must guard its own state. With BERTH_PLUGIN_SERIALIZE the host runs at
 *   most one op of the instance at a time (simple, but then one slow stop
 *   delays every other call on that instance; never calls on other
 *   instances). No thread waits on a lock for this: queued ops hold none.
 * - watch_start() and watch_stop() are never called concurrently with each
 *   other for one instance. watch_stop() must not return until the plugin
 *   will no longer call emit()/provider_state() for the instance.
 * - Host services (log, emit, provider_state, call_*) are thread-safe and may
 *   be called from ANY thread, including threads the plugin created, and
 *   from inside an op. They never call back into the plugin, so holding a
 *   plugin lock while calling them cannot deadlock on the host side.
 * - The host blocks SIGTERM and SIGINT in every thread (it waits for them
 *   with sigwait). A plugin that forks processes must reset the child's
 *   signal mask and dispositions before exec, or they cannot be stopped
 *   gracefully; it should also close the host's descriptors (fd >= 3).
 *
 * ---------------------------------------------------------------------------
 * 4. Long operations, deadlines and cancellation
 * ---------------------------------------------------------------------------
 * - A slow op blocks only the thread running it; the host keeps answering
 *   other requests (ping, list, ops on other containers).
 * - Each op gets a berth_call. host->call_remaining_ms(call) tells how long
 *   the caller will still wait; stop/restart deadlines already include the
 *   requested timeout plus a grace period.
 * - The call is CANCELLED when its deadline passes or the daemon shuts down:
 *   host->call_cancelled(call) turns non-zero, host->call_wait() returns
 *   early and host->call_cancel_fd(call) becomes readable. Return as soon as
 *   practical: BERTH_E_TIMEOUT after the deadline, BERTH_E_CANCELLED on
 *   shutdown. Wait with call_wait (a sleep) or by polling the cancel fd
 *   together with your own sockets; never by sleeping in a loop.
 * - An op whose deadline passed while it waited in the host's queue is never
 *   started. If an op overruns its deadline, the host answers the client
 *   with `timeout` on its own; the op's late result is logged and
 *   discarded, but the op still runs to its end (the host never kills a
 *   plugin thread). An op still running at shutdown is named in the log,
 *   and its instance is not destroyed.
 *
 * ---------------------------------------------------------------------------
 * 5. Errors
 * ---------------------------------------------------------------------------
 * - Every op returns a berth_status. On failure, report a human message with
 *   `return host->call_fail(call, BERTH_E_NOT_FOUND, "no such container: x");`
 *   (it copies the message and returns the code). Without a message the host
 *   uses the code's name.
 * - No C++ exception, no C++ type and no longjmp ever crosses this boundary.
 *   C++ plugins catch everything at the edge (berth/provider.hpp does this).
 * - Idempotence: an op whose goal already holds succeeds without doing
 *   anything; an op that cannot reach its goal from the current state is
 *   BERTH_E_CONFLICT. The same for every plugin (the conformance kit checks):
 *
 *     op       goal             already holds (BERTH_OK)  conflict
 *     start    running          running                   paused
 *     stop     not running      stopped                   -
 *     kill     not running      stopped                   -
 *     pause    paused           paused                    stopped
 *     unpause  running          running                   stopped
 *     restart  running, fresh   -                         - (stopped: start)
 *
 * ---------------------------------------------------------------------------
 * 6. Container references and signals
 * ---------------------------------------------------------------------------
 * A `ref` names one container of the instance: its full id, a unique id
 * prefix, or its name (engine-specific forms such as PVE's "node/vmid" are
 * allowed). An unknown ref is BERTH_E_NOT_FOUND; an ambiguous prefix is
 * BERTH_E_INVALID_ARGUMENT.
 *
 * Signals reach a plugin normalized by the host: NULL (the engine's
 * default) or an upper-case name with its SIG prefix, "SIGTERM", "SIGKILL",
 * "SIGRTMIN+3". Clients may write "TERM", "sigterm" or "15"; the host
 * translates, and refuses a signal it does not know with
 * BERTH_E_INVALID_ARGUMENT before any plugin sees it. A plugin that needs
 * the number asks host->signal_number(name) (ABI 1.1).
 *
 * ---------------------------------------------------------------------------
 * 7. Limits on what a plugin reports
 * ---------------------------------------------------------------------------
 * The host bounds what it copies out of containers and events, so one bad
 * container cannot swell every message (numbers in bytes, BERTH_MAX_*):
 *   id                      <= 255; longer: the container/event is refused
 *   name, image, raw_state, raw_action, health, old_name
 *                           <= 1024; longer: cut at a UTF-8 boundary
 *   labels                  <= 256 per container; key <= 255, value <= 4096,
 *                           all labels together <= 64 KiB; beyond: dropped
 *   details_json            <= 64 KiB and a JSON object; else dropped
 *   every string            UTF-8; invalid bytes become U+FFFD
 *   event type / state      unknown values become OTHER / UNKNOWN
 * Each such repair is logged and counted per instance (berthd's `providers`
 * reply, field "repairs"); nothing is ever published unbounded.
 *
 * ---------------------------------------------------------------------------
 * 8. Providers that cannot watch
 * ---------------------------------------------------------------------------
 * Without BERTH_CAP_WATCH the host polls: it lists the instance every poll
 * interval, asks status() of a container right after a lifecycle op on it,
 * and publishes the differences itself (origin "poll"). It reports the
 * instance up or down by whether list succeeds. Such a plugin keeps no
 * state to diff and emits nothing. If watch_start fails, the host retries
 * it with capped backoff and polls meanwhile (when the plugin can list).
 */
#ifndef BERTH_PROVIDER_H
#define BERTH_PROVIDER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define BERTH_ABI_MAJOR 1u
#define BERTH_ABI_MINOR 1u

/* The one exported symbol; see berth_entry_fn. */
#define BERTH_ENTRY_SYMBOL "berth_provider_entry"

/* True when `member` of the struct `type` at `ptr` lies within the
 * struct_size its writer declared: a reader checks this before touching any
 * field appended after the frozen prefix (section 1). */
#define BERTH_HAS_FIELD(ptr, type, member) \
  ((ptr)->struct_size >= offsetof(type, member) + sizeof(((type *)0)->member))

#ifdef __cplusplus
#define BERTH_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define BERTH_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif

/* Limits on plugin-supplied data (section 7). */
#define BERTH_MAX_ID 255
#define BERTH_MAX_TEXT 1024
#define BERTH_MAX_LABELS 256
#define BERTH_MAX_LABEL_KEY 255
#define BERTH_MAX_LABEL_VALUE 4096
#define BERTH_MAX_LABEL_BYTES 65536
#define BERTH_MAX_DETAILS 65536

#if defined(_WIN32)
#define BERTH_EXPORT __declspec(dllexport)
#else
#define BERTH_EXPORT __attribute__((visibility("default")))
#endif

/* ------------------------------------------------------------------ codes */

/* A closed set. The wire protocol spells them in lower case
 * ("not_found", ...). New codes are only added with a new major. */
typedef enum berth_status {
  BERTH_OK = 0,
  BERTH_E_NOT_FOUND = 1,         /* no such container (or image, node) */
  BERTH_E_UNAVAILABLE = 2,       /* engine/node unreachable, connection refused */
  BERTH_E_TIMEOUT = 3,           /* deadline passed before the engine answered */
  BERTH_E_INVALID_ARGUMENT = 4,  /* bad ref, bad signal, bad config */
  BERTH_E_CONFLICT = 5,          /* wrong state for the op, locked, ... */
  BERTH_E_UNSUPPORTED = 6,       /* the engine cannot do this */
  BERTH_E_PERMISSION_DENIED = 7, /* credentials refused (401/403) */
  BERTH_E_INTERNAL = 8,          /* a bug or an engine answer we cannot parse */
  BERTH_E_CANCELLED = 9,         /* the host is shutting down */
  BERTH_STATUS_MAX_ENUM = 0x7FFFFFFF /* pins the width; never returned */
} berth_status;

/* Normalized container state. The engine's own word goes in raw_state. */
typedef enum berth_state {
  BERTH_STATE_UNKNOWN = 0,
  BERTH_STATE_RUNNING = 1,
  BERTH_STATE_STOPPED = 2, /* includes created-never-started: it can be started */
  BERTH_STATE_PAUSED = 3,
  BERTH_STATE_ERROR = 4,   /* dead, removal in progress, engine says broken */
  BERTH_STATE_MAX_ENUM = 0x7FFFFFFF
} berth_state;

typedef enum berth_event_type {
  BERTH_EVENT_OTHER = 0,     /* anything else; raw_action says what */
  BERTH_EVENT_CREATED = 1,
  BERTH_EVENT_STARTED = 2,
  BERTH_EVENT_EXITED = 3,    /* set has_exit_code/exit_code when known */
  BERTH_EVENT_PAUSED = 4,
  BERTH_EVENT_UNPAUSED = 5,
  BERTH_EVENT_DESTROYED = 6,
  BERTH_EVENT_OOM = 7,
  BERTH_EVENT_HEALTH = 8,    /* set health */
  BERTH_EVENT_RENAMED = 9,   /* container_name is the new name, old_name the old */
  BERTH_EVENT_MAX_ENUM = 0x7FFFFFFF
} berth_event_type;

typedef enum berth_log_level {
  BERTH_LOG_TRACE = 0,
  BERTH_LOG_DEBUG = 1,
  BERTH_LOG_INFO = 2,
  BERTH_LOG_WARN = 3,
  BERTH_LOG_ERROR = 4,
  BERTH_LOG_MAX_ENUM = 0x7FFFFFFF
} berth_log_level;

typedef enum berth_provider_state {
  BERTH_PROVIDER_DOWN = 0, /* engine unreachable; events may be missing */
  BERTH_PROVIDER_UP = 1,   /* engine reachable and the event stream is live */
  BERTH_PROVIDER_STATE_MAX_ENUM = 0x7FFFFFFF
} berth_provider_state;

/* Capability flags: which ops an instance supports. The host answers an op
 * whose flag is missing with `unsupported` and never calls the plugin. */
#define BERTH_CAP_LIST        (1ull << 0)
#define BERTH_CAP_INSPECT     (1ull << 1)
#define BERTH_CAP_STATUS      (1ull << 2)
#define BERTH_CAP_START       (1ull << 3)
#define BERTH_CAP_STOP        (1ull << 4)
#define BERTH_CAP_KILL        (1ull << 5)
#define BERTH_CAP_PAUSE       (1ull << 6)
#define BERTH_CAP_UNPAUSE     (1ull << 7)
#define BERTH_CAP_RESTART     (1ull << 8)
#define BERTH_CAP_WATCH       (1ull << 9)
#define BERTH_CAP_STOP_SIGNAL (1ull << 10) /* stop() honours its signal argument */
#define BERTH_CAP_KILL_SIGNAL (1ull << 11) /* kill() honours its signal argument */

/* Plugin flags (berth_plugin_info.flags). */
#define BERTH_PLUGIN_SERIALIZE (1u << 0) /* host serializes ops per instance */

/* --------------------------------------------------------------- data */

typedef struct berth_label {
  const char *key;
  const char *value;
} berth_label;

/* One container as the plugin sees it. Only struct_size, id, name and state
 * are required; everything else may be NULL/0 when unknown. */
typedef struct berth_container {
  uint32_t struct_size;
  const char *id;          /* engine id (Docker: 64 hex; PVE: vmid) */
  const char *name;        /* without Docker's leading '/' */
  const char *image;       /* image reference or template; may be NULL */
  berth_state state;
  const char *raw_state;   /* engine's word: "created", "restarting", ... */
  int64_t created_unix_ms; /* 0 = unknown */
  int64_t started_unix_ms;
  int64_t finished_unix_ms;
  int32_t has_exit_code;   /* non-zero when exit_code is meaningful */
  int32_t exit_code;
  int32_t oom_killed;      /* non-zero when the last exit was an OOM kill */
  int32_t restart_count;
  const char *health;      /* "healthy", "unhealthy", "starting" or NULL */
  const berth_label *labels;
  size_t label_count;
  /* Optional JSON object with engine details. Keys the core understands:
   *   "ports":    [{"private":80,"public":8080,"ip":"127.0.0.1","proto":"tcp"}]
   *   "networks": [{"name":"bridge","ip":"172.17.0.2"}]
   *   "mounts":   [{"source":"/srv","destination":"/data","type":"bind"}]
   *   "node":     "pve1"
   * Any other key is passed through to clients untouched. */
  const char *details_json;
} berth_container;

/* One lifecycle event. struct_size, type, raw_action and container_id are
 * required. */
typedef struct berth_event {
  uint32_t struct_size;
  berth_event_type type;
  const char *raw_action;     /* engine's own action, e.g. "die", "vzstart" */
  int64_t time_unix_ns;       /* when the engine saw it; 0 = host's receive time */
  const char *container_id;
  const char *container_name; /* may be NULL */
  const char *image;          /* may be NULL */
  int32_t has_exit_code;
  int32_t exit_code;
  const char *health;         /* BERTH_EVENT_HEALTH: "healthy"|"unhealthy"|... */
  const char *old_name;       /* BERTH_EVENT_RENAMED: previous name */
  const berth_label *labels;
  size_t label_count;
} berth_event;

/* ------------------------------------------------------- host services */

typedef struct berth_host_ctx berth_host_ctx; /* host's handle for one instance */
typedef struct berth_call berth_call;         /* host's handle for one op call */

/* What a container sink returns. */
#define BERTH_SINK_CONTINUE 0 /* hand over the next container */
#define BERTH_SINK_STOP 1     /* stop listing now and return BERTH_OK */

/* Receives containers from list/inspect/status. Called on the op's own
 * thread, before the op returns. Returns BERTH_SINK_CONTINUE or
 * BERTH_SINK_STOP (the host needs no more: stop and return BERTH_OK). */
typedef int (*berth_container_sink)(void *sink_ctx, const berth_container *c);

typedef struct berth_host {
  uint32_t struct_size; /* frozen prefix: struct_size, abi_major, abi_minor */
  uint32_t abi_major;
  uint32_t abi_minor;

  /* Log one line. ctx may be NULL (plugin-wide message). Any thread. */
  void (*log)(berth_host_ctx *ctx, berth_log_level level, const char *message);

  /* Publish one event for the instance. Copies the event before returning.
   * Any thread, any time between create() and the return of watch_stop()
   * (events emitted by ops, e.g. sim's own start, are fine too). When the
   * host's event queue is full this BLOCKS until there is room
   * (back-pressure: events are never dropped). Returns BERTH_OK, or
   * BERTH_E_CANCELLED when the host is shutting down (event discarded), or
   * BERTH_E_INVALID_ARGUMENT for a malformed event (logged). */
  berth_status (*emit)(berth_host_ctx *ctx, const berth_event *event);

  /* Report that the engine became unreachable (DOWN) or reachable with a
   * live event stream again (UP). Publish missed events you can replay
   * BEFORE reporting UP: on every DOWN->UP transition the host lists the
   * instance and publishes what still differs from its view (a container that
   * died while nobody watched gets its `exited`), exactly once. Any thread. */
  void (*provider_state)(berth_host_ctx *ctx, berth_provider_state state,
                         const char *reason);

  /* Record the failure message for this call; returns `code` so an op can
   * `return host->call_fail(call, code, "...")`. */
  berth_status (*call_fail)(berth_call *call, berth_status code,
                            const char *message);

  /* Milliseconds until the caller stops waiting (>= 0). */
  int64_t (*call_remaining_ms)(const berth_call *call);

  /* Non-zero once the call is cancelled: its deadline passed or the daemon
   * is shutting down (section 4). */
  int (*call_cancelled)(const berth_call *call);

  /* ---- ABI 1.1 (check abi_minor >= 1 or BERTH_HAS_FIELD before use) ---- */

  /* Sleeps up to `ms` milliseconds, less if the call is cancelled first.
   * Returns non-zero when the call is cancelled, 0 when the time ran out. */
  int (*call_wait)(const berth_call *call, int64_t ms);

  /* A descriptor that becomes readable when the call is cancelled (deadline
   * or shutdown): poll it together with your own sockets. Owned by the host,
   * valid until the op returns; never read, write or close it. -1 if the
   * host could not make one (then fall back to call_wait). */
  int (*call_cancel_fd)(const berth_call *call);

  /* The host's number for a signal name as the host passes them ("SIGTERM"
   * -> 15), 0 for NULL or an unknown name. For plugins that signal local
   * processes themselves. */
  int (*signal_number)(const char *signal);
} berth_host;

/* ---------------------------------------------------------- plugin side */

typedef struct berth_instance berth_instance; /* plugin's own type */

typedef struct berth_provider_ops {
  uint32_t struct_size;

  /* Make an instance named `instance_name` from `config_json` (a JSON object;
   * "{}" means defaults). Keep host_ctx for emit/log. On success set *out and
   * return BERTH_OK; on failure return an error via call_fail (a bad config
   * is BERTH_E_INVALID_ARGUMENT naming the key). Do not emit from create. */
  berth_status (*create)(const char *instance_name, const char *config_json,
                         berth_host_ctx *host_ctx, berth_call *call,
                         berth_instance **out);

  /* Free everything. Never fails. See section 3 for when it is called. */
  void (*destroy)(berth_instance *inst);

  /* BERTH_CAP_* flags this instance supports. Called once after create. */
  uint64_t (*capabilities)(const berth_instance *inst);

  /* Every container the instance manages, running or not: sink once each. */
  berth_status (*list)(berth_instance *inst, berth_call *call,
                       berth_container_sink sink, void *sink_ctx);

  /* One container, full detail: sink exactly once on success. */
  berth_status (*inspect)(berth_instance *inst, berth_call *call,
                          const char *ref, berth_container_sink sink,
                          void *sink_ctx);

  /* One container's state, cheaply: sink exactly once with at least id,
   * name, state and raw_state. */
  berth_status (*status)(berth_instance *inst, berth_call *call,
                         const char *ref, berth_container_sink sink,
                         void *sink_ctx);

  berth_status (*start)(berth_instance *inst, berth_call *call,
                        const char *ref);

  /* Graceful stop: send `signal` (NULL = engine default, e.g. the image's
   * StopSignal), wait up to `timeout_s` seconds (< 0 = engine default), then
   * kill. Without BERTH_CAP_STOP_SIGNAL a non-NULL signal is
   * BERTH_E_UNSUPPORTED. */
  berth_status (*stop)(berth_instance *inst, berth_call *call, const char *ref,
                       const char *signal, int32_t timeout_s);

  /* Send `signal` (NULL = SIGKILL). Without BERTH_CAP_KILL_SIGNAL anything
   * but NULL/"SIGKILL"/"KILL" is BERTH_E_UNSUPPORTED. */
  berth_status (*kill)(berth_instance *inst, berth_call *call, const char *ref,
                       const char *signal);

  berth_status (*pause)(berth_instance *inst, berth_call *call,
                        const char *ref);
  berth_status (*unpause)(berth_instance *inst, berth_call *call,
                          const char *ref);

  /* Stop (graceful, timeout_s as for stop) then start. */
  berth_status (*restart)(berth_instance *inst, berth_call *call,
                          const char *ref, int32_t timeout_s);

  /* Begin delivering events through host->emit. Return quickly: run the
   * stream on the plugin's own thread. Report BERTH_PROVIDER_UP once the
   * stream is live (the host then lists and takes that as its baseline;
   * events emitted meanwhile are held and applied after the list, so none
   * fall between list and stream). Failure to reach the engine is not an
   * error here: report DOWN and keep retrying on your thread. An error
   * return (e.g. a bad setup) makes the host retry watch_start with capped
   * backoff, polling the instance meanwhile if it can list. */
  berth_status (*watch_start)(berth_instance *inst, berth_call *call);

  /* Stop delivering events; after return, no more emit/provider_state. */
  void (*watch_stop)(berth_instance *inst);
} berth_provider_ops;

typedef struct berth_plugin_info {
  uint32_t struct_size; /* frozen prefix: struct_size, abi_major, abi_minor */
  uint32_t abi_major;   /* BERTH_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;   /* BERTH_ABI_MINOR the plugin was built with */
  const char *name;     /* short, [a-z0-9_-]: "docker", "proxmox" */
  const char *version;  /* the plugin's own version, e.g. "1.2.0" */
  const char *description;
  uint32_t flags;       /* BERTH_PLUGIN_* */
  const berth_provider_ops *ops;
} berth_plugin_info;

/* The entry point. Called once after loading, on the main thread, with the
 * host's service table (valid until unload). Return the plugin's info
 * (static, valid until unload), or NULL if the plugin cannot work with this
 * host (it should log why through host->log(NULL, ...) first). */
typedef const berth_plugin_info *(*berth_entry_fn)(const berth_host *host);

/* The frozen prefixes (section 1): these offsets never change. */
BERTH_STATIC_ASSERT(offsetof(berth_host, struct_size) == 0, "frozen prefix");
BERTH_STATIC_ASSERT(offsetof(berth_host, abi_major) == 4, "frozen prefix");
BERTH_STATIC_ASSERT(offsetof(berth_host, abi_minor) == 8, "frozen prefix");
BERTH_STATIC_ASSERT(offsetof(berth_plugin_info, struct_size) == 0, "frozen prefix");
BERTH_STATIC_ASSERT(offsetof(berth_plugin_info, abi_major) == 4, "frozen prefix");
BERTH_STATIC_ASSERT(offsetof(berth_plugin_info, abi_minor) == 8, "frozen prefix");
BERTH_STATIC_ASSERT(sizeof(berth_status) == 4 && sizeof(berth_state) == 4 &&
                        sizeof(berth_event_type) == 4,
                    "enums crossing the ABI are 32 bits wide");

#ifdef __cplusplus
}
#endif

#endif /* BERTH_PROVIDER_H */
