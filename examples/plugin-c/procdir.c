/* procdir.so — a berth provider in plain C, built against the installed SDK.
 *
 * It supervises processes described by a directory, runit-style: every
 * subdirectory DIR/<name>/ holding an executable `run` is one "container"
 * (id = name = <name>, image = the path of `run`), and an optional
 * DIR/<name>/labels file holds `key=value` lines. start forks `run` in its own
 * process group (stdout/stderr to DIR/<name>/log), stop signals the group and
 * escalates to SIGKILL after the timeout, pause/unpause are SIGSTOP/SIGCONT.
 * A watcher thread polls every `poll_ms` and emits each change once
 * (including a restart, seen as a new pid).
 *
 * Config: {"dir": "/srv/services", "poll_ms": 200}
 *
 * Threading (provider.h §3): ops may run concurrently, the watcher runs on its
 * own thread; one mutex guards the table. host->emit may block, so events are
 * collected under the lock and emitted after it is released. The processes
 * this instance started are its children: only it can reap them, so they
 * are stopped when the instance is destroyed. */
#define _GNU_SOURCE
#include <berth/provider.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SERVICES 128
#define MAX_LABELS 16

typedef struct service {
  char name[NAME_MAX + 1];
  char run[PATH_MAX];
  pid_t pid;                  /* process group leader, 0 when not running */
  int has_exit, exit_code;    /* of the last exit */
  int64_t started_ms;
  /* what the watcher last reported */
  berth_state reported;
  pid_t reported_pid;
  int present;
  int label_count;
  char label_keys[MAX_LABELS][128], label_values[MAX_LABELS][256];
  berth_label labels[MAX_LABELS];
} service;

struct berth_instance {
  char dir[PATH_MAX];
  int poll_ms;
  berth_host_ctx *ctx;
  pthread_mutex_t lock;
  service services[MAX_SERVICES];
  int count;
  pthread_t watcher;
  int watching, stopping;
};

static const berth_host *host;

/* ------------------------------------------------------------ helpers */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* Reaps the service's process if it exited; records the exit code. */
static void reap(service *s) {
  int status;
  if (s->pid <= 0 || waitpid(s->pid, &status, WNOHANG) != s->pid) return;
  s->has_exit = 1;
  s->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  s->pid = 0;
}

static berth_state state_of(service *s) {
  reap(s);
  if (s->pid <= 0) return BERTH_STATE_STOPPED;
  char path[64], buf[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)s->pid);
  FILE *f = fopen(path, "r");
  if (!f) return BERTH_STATE_STOPPED;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  const char *paren = strrchr(buf, ')'); /* "pid (comm) S ..." */
  if (paren && paren[1] == ' ' && (paren[2] == 'T' || paren[2] == 't')) return BERTH_STATE_PAUSED;
  return BERTH_STATE_RUNNING;
}

static const char *state_word(berth_state st) {
  return st == BERTH_STATE_RUNNING ? "running" : st == BERTH_STATE_PAUSED ? "paused" : "stopped";
}

static void load_labels(berth_instance *in, service *s) {
  char path[PATH_MAX * 2], line[512];
  s->label_count = 0;
  if (snprintf(path, sizeof path, "%s/%s/labels", in->dir, s->name) >= (int)sizeof path) return;
  FILE *f = fopen(path, "r");
  if (!f) return;
  while (s->label_count < MAX_LABELS && fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    char *eq = strchr(line, '=');
    if (!eq || line[0] == '#') continue;
    *eq = 0;
    int i = s->label_count;
    if (snprintf(s->label_keys[i], sizeof s->label_keys[i], "%s", line) >= (int)sizeof s->label_keys[i] ||
        snprintf(s->label_values[i], sizeof s->label_values[i], "%s", eq + 1) >= (int)sizeof s->label_values[i])
      continue; /* too long for this small example: skipped */
    ++s->label_count;
    s->labels[i].key = s->label_keys[i];
    s->labels[i].value = s->label_values[i];
  }
  fclose(f);
}

/* Brings the table in line with the directory. Caller holds the lock. */
static void scan(berth_instance *in) {
  for (int i = 0; i < in->count; ++i) in->services[i].present = 0;
  DIR *d = opendir(in->dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char run[PATH_MAX];
    if (snprintf(run, sizeof run, "%s/%s/run", in->dir, e->d_name) >= (int)sizeof run) continue;
    if (access(run, X_OK) != 0) continue;
    service *s = NULL;
    for (int i = 0; i < in->count; ++i)
      if (strcmp(in->services[i].name, e->d_name) == 0) s = &in->services[i];
    if (!s) {
      if (in->count == MAX_SERVICES) continue;
      s = &in->services[in->count++];
      memset(s, 0, sizeof *s);
      snprintf(s->name, sizeof s->name, "%s", e->d_name);
      snprintf(s->run, sizeof s->run, "%s", run);
      s->reported = BERTH_STATE_UNKNOWN; /* never reported: "created" */
    }
    s->present = 1;
    load_labels(in, s);
  }
  closedir(d);
}

static service *find(berth_instance *in, const char *ref) {
  scan(in);
  for (int i = 0; i < in->count; ++i)
    if (in->services[i].present && strcmp(in->services[i].name, ref) == 0) return &in->services[i];
  return NULL;
}

/* The host hands signals over normalized ("SIGTERM") and knows their
 * numbers (ABI 1.1); an older host passes only what it was given. */
static int signal_from(const char *name, int fallback) {
  if (!name) return fallback;
  if (BERTH_HAS_FIELD(host, berth_host, signal_number)) {
    int n = host->signal_number(name);
    return n > 0 ? n : -1;
  }
  return strcmp(name, "SIGKILL") == 0 ? SIGKILL : strcmp(name, "SIGTERM") == 0 ? SIGTERM : -1;
}

/* Waits up to ms for the call to be cancelled; non-zero when it was. */
static int call_wait(berth_call *call, int ms) {
  if (BERTH_HAS_FIELD(host, berth_host, call_wait)) return host->call_wait(call, ms);
  sleep_ms(ms);
  return host->call_cancelled(call);
}

static void fill(berth_container *c, service *s, berth_state st) {
  memset(c, 0, sizeof *c);
  c->struct_size = sizeof *c;
  c->id = s->name;
  c->name = s->name;
  c->image = s->run;
  c->state = st;
  c->raw_state = state_word(st);
  c->started_unix_ms = st == BERTH_STATE_STOPPED ? 0 : s->started_ms;
  c->has_exit_code = st == BERTH_STATE_STOPPED && s->has_exit;
  c->exit_code = s->exit_code;
  c->labels = s->labels;
  c->label_count = (size_t)s->label_count;
}

/* ------------------------------------------------------------ ops */

static berth_status op_create(const char *name, const char *config, berth_host_ctx *ctx, berth_call *call,
                              berth_instance **out) {
  (void)name;
  berth_instance *in = calloc(1, sizeof *in);
  if (!in) return host->call_fail(call, BERTH_E_INTERNAL, "out of memory");
  in->poll_ms = 200;
  in->ctx = ctx;
  /* The config is a flat object: find "dir" and "poll_ms" by hand. */
  const char *d = strstr(config, "\"dir\"");
  const char *q1 = d ? strchr(d + 5, '"') : NULL;
  const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
  if (!q2 || q2 - q1 - 1 >= (long)sizeof in->dir) {
    free(in);
    return host->call_fail(call, BERTH_E_INVALID_ARGUMENT, "dir: required (the directory of services)");
  }
  memcpy(in->dir, q1 + 1, (size_t)(q2 - q1 - 1));
  const char *p = strstr(config, "\"poll_ms\"");
  if (p && (p = strchr(p, ':')) != NULL) {
    char *end = NULL;
    long ms = strtol(p + 1, &end, 10);
    if (end == p + 1 || ms <= 0 || ms > 60000) {
      free(in);
      return host->call_fail(call, BERTH_E_INVALID_ARGUMENT, "poll_ms: expected 1 to 60000");
    }
    in->poll_ms = (int)ms;
  }
  struct stat st;
  if (stat(in->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    char msg[PATH_MAX + 64];
    snprintf(msg, sizeof msg, "dir: %s is not a directory", in->dir);
    free(in);
    return host->call_fail(call, BERTH_E_UNAVAILABLE, msg);
  }
  pthread_mutex_init(&in->lock, NULL);
  pthread_mutex_lock(&in->lock);
  scan(in);
  pthread_mutex_unlock(&in->lock);
  *out = in;
  return BERTH_OK;
}

static void op_watch_stop(berth_instance *in);

static void op_destroy(berth_instance *in) {
  op_watch_stop(in);
  for (int i = 0; i < in->count; ++i) {
    service *s = &in->services[i];
    if (s->pid > 0) {
      kill(-s->pid, SIGKILL);
      waitpid(s->pid, NULL, 0);
    }
  }
  pthread_mutex_destroy(&in->lock);
  free(in);
}

static uint64_t op_capabilities(const berth_instance *in) {
  (void)in;
  return BERTH_CAP_LIST | BERTH_CAP_INSPECT | BERTH_CAP_STATUS | BERTH_CAP_START | BERTH_CAP_STOP |
         BERTH_CAP_KILL | BERTH_CAP_PAUSE | BERTH_CAP_UNPAUSE | BERTH_CAP_RESTART | BERTH_CAP_WATCH |
         BERTH_CAP_STOP_SIGNAL | BERTH_CAP_KILL_SIGNAL;
}

static berth_status op_list(berth_instance *in, berth_call *call, berth_container_sink sink, void *sink_ctx) {
  (void)call;
  pthread_mutex_lock(&in->lock);
  scan(in);
  for (int i = 0; i < in->count; ++i) {
    service *s = &in->services[i];
    if (!s->present) continue;
    berth_container c;
    fill(&c, s, state_of(s));
    if (sink(sink_ctx, &c) == BERTH_SINK_STOP) break;
  }
  pthread_mutex_unlock(&in->lock);
  return BERTH_OK;
}

static berth_status op_inspect(berth_instance *in, berth_call *call, const char *ref, berth_container_sink sink,
                               void *sink_ctx) {
  pthread_mutex_lock(&in->lock);
  service *s = find(in, ref);
  if (!s) {
    pthread_mutex_unlock(&in->lock);
    return host->call_fail(call, BERTH_E_NOT_FOUND, "no such service");
  }
  berth_container c;
  fill(&c, s, state_of(s));
  char details[64];
  snprintf(details, sizeof details, "{\"pid\":%d}", (int)s->pid);
  c.details_json = details;
  sink(sink_ctx, &c);
  pthread_mutex_unlock(&in->lock);
  return BERTH_OK;
}

/* Looks up `ref` and locks; on failure returns an error with the lock released. */
static berth_status locked(berth_instance *in, berth_call *call, const char *ref, service **out) {
  pthread_mutex_lock(&in->lock);
  *out = find(in, ref);
  if (*out) return BERTH_OK;
  pthread_mutex_unlock(&in->lock);
  return host->call_fail(call, BERTH_E_NOT_FOUND, "no such service");
}

static berth_status start_locked(berth_instance *in, berth_call *call, service *s) {
  berth_state st = state_of(s);
  if (st == BERTH_STATE_RUNNING) return BERTH_OK; /* already running: success */
  if (st == BERTH_STATE_PAUSED) return host->call_fail(call, BERTH_E_CONFLICT, "service is paused; unpause it");
  char log[PATH_MAX * 2], dir[PATH_MAX * 2];
  if (snprintf(log, sizeof log, "%s/%s/log", in->dir, s->name) >= (int)sizeof log ||
      snprintf(dir, sizeof dir, "%s/%s", in->dir, s->name) >= (int)sizeof dir)
    return host->call_fail(call, BERTH_E_INVALID_ARGUMENT, "path too long");
  pid_t pid = fork();
  if (pid < 0) return host->call_fail(call, BERTH_E_INTERNAL, strerror(errno));
  if (pid == 0) {
    setpgid(0, 0); /* its own process group: signals reach its children too */
    /* The host may block or ignore signals (berthd blocks SIGTERM to sigwait
     * for it): a service must start with the defaults, or it could not be
     * stopped gracefully. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; ++sig) signal(sig, SIG_DFL);
    for (int fd = 3; fd < 1024; ++fd) close(fd); /* not the host's sockets */
    int null = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (null >= 0) dup2(null, 0);
    if (out >= 0) { dup2(out, 1); dup2(out, 2); }
    if (chdir(dir) != 0) _exit(126);
    execl(s->run, s->run, (char *)NULL);
    _exit(127);
  }
  /* Also from the parent, so the group exists before any signal is sent to it
   * (whichever of the two calls runs first wins; the other is a no-op). */
  setpgid(pid, pid);
  s->pid = pid;
  s->has_exit = 0;
  s->started_ms = now_ms();
  return BERTH_OK;
}

static berth_status op_start(berth_instance *in, berth_call *call, const char *ref) {
  service *s;
  berth_status rc = locked(in, call, ref, &s);
  if (rc != BERTH_OK) return rc;
  rc = start_locked(in, call, s);
  pthread_mutex_unlock(&in->lock);
  return rc;
}

/* Signals the group, waits up to timeout_s (and the call's deadline) for the
 * exit, then SIGKILLs. The lock is dropped while waiting. */
static berth_status stop_service(berth_instance *in, berth_call *call, const char *ref, int sig, int timeout_s) {
  service *s;
  berth_status rc = locked(in, call, ref, &s);
  if (rc != BERTH_OK) return rc;
  if (state_of(s) == BERTH_STATE_STOPPED) {
    pthread_mutex_unlock(&in->lock);
    return BERTH_OK; /* already stopped: success */
  }
  pid_t pid = s->pid;
  kill(-pid, sig);
  kill(-pid, SIGCONT); /* a paused group must run to handle the signal */
  pthread_mutex_unlock(&in->lock);
  /* Wait on the process's exit and the call's cancellation together: a
   * pidfd turns readable when the process exits, the cancel fd when the
   * deadline passes or berthd stops. */
  int exit_fd = (int)syscall(SYS_pidfd_open, pid, 0);
  int cancel_fd = BERTH_HAS_FIELD(host, berth_host, call_cancel_fd) ? host->call_cancel_fd(call) : -1;
  const int64_t give_up = now_ms() + (int64_t)(timeout_s < 0 ? 10 : timeout_s) * 1000;
  rc = BERTH_OK;
  for (;;) {
    pthread_mutex_lock(&in->lock);
    reap(s);
    int gone = s->pid != pid;
    pthread_mutex_unlock(&in->lock);
    if (gone) break;
    if (host->call_remaining_ms(call) <= 0) {
      rc = host->call_fail(call, BERTH_E_TIMEOUT, "still stopping");
      break;
    }
    if (host->call_cancelled(call)) {
      rc = host->call_fail(call, BERTH_E_CANCELLED, "cancelled");
      break;
    }
    int64_t left = give_up - now_ms();
    if (sig != SIGKILL && left <= 0) {
      kill(-pid, SIGKILL); /* the timeout is over */
      sig = SIGKILL;
      continue;
    }
    int64_t wait = sig == SIGKILL ? 1000 : left;
    if (exit_fd < 0) wait = 10; /* no pidfd (old kernel): look again soon */
    if (cancel_fd < 0 && wait > host->call_remaining_ms(call)) wait = host->call_remaining_ms(call);
    struct pollfd fds[2] = {{exit_fd, POLLIN, 0}, {cancel_fd, POLLIN, 0}}; /* poll skips fd -1 */
    poll(fds, 2, (int)wait);
  }
  if (exit_fd >= 0) close(exit_fd);
  return rc;
}

static berth_status op_stop(berth_instance *in, berth_call *call, const char *ref, const char *signal,
                            int32_t timeout_s) {
  int sig = signal_from(signal, SIGTERM);
  if (sig < 0) return host->call_fail(call, BERTH_E_INVALID_ARGUMENT, "unknown signal");
  return stop_service(in, call, ref, sig, timeout_s);
}

static berth_status op_kill(berth_instance *in, berth_call *call, const char *ref, const char *signal) {
  int sig = signal_from(signal, SIGKILL);
  if (sig < 0) return host->call_fail(call, BERTH_E_INVALID_ARGUMENT, "unknown signal");
  service *s;
  berth_status rc = locked(in, call, ref, &s);
  if (rc != BERTH_OK) return rc;
  if (state_of(s) == BERTH_STATE_STOPPED) {
    pthread_mutex_unlock(&in->lock);
    return BERTH_OK; /* not running already: kill's goal holds */
  }
  pid_t pid = s->pid;
  pthread_mutex_unlock(&in->lock);
  if (sig != SIGKILL) {
    kill(-pid, sig);
    return BERTH_OK;
  }
  return stop_service(in, call, ref, SIGKILL, 0);
}

static berth_status pause_or_resume(berth_instance *in, berth_call *call, const char *ref, int pause) {
  service *s;
  berth_status rc = locked(in, call, ref, &s);
  if (rc != BERTH_OK) return rc;
  berth_state want = pause ? BERTH_STATE_PAUSED : BERTH_STATE_RUNNING;
  berth_state st = state_of(s);
  if (st == want) { /* the goal holds already */
    pthread_mutex_unlock(&in->lock);
    return BERTH_OK;
  }
  if (st == BERTH_STATE_STOPPED) {
    pthread_mutex_unlock(&in->lock);
    return host->call_fail(call, BERTH_E_CONFLICT, "service is not running");
  }
  kill(-s->pid, pause ? SIGSTOP : SIGCONT);
  /* Wait until the kernel shows the new state, so status agrees at once
   * (the kernel tells no one: look every 5 ms, until the call's deadline;
   * a loaded machine can take longer than any fixed time). */
  int reached = 0;
  while (!(reached = state_of(s) == want))
    if (call_wait(call, 5)) break;
  pthread_mutex_unlock(&in->lock);
  if (!reached)
    return host->call_fail(call, BERTH_E_TIMEOUT, pause ? "not shown stopped before the deadline"
                                                        : "not shown running again before the deadline");
  return BERTH_OK;
}

static berth_status op_pause(berth_instance *in, berth_call *call, const char *ref) {
  return pause_or_resume(in, call, ref, 1);
}
static berth_status op_unpause(berth_instance *in, berth_call *call, const char *ref) {
  return pause_or_resume(in, call, ref, 0);
}

static berth_status op_restart(berth_instance *in, berth_call *call, const char *ref, int32_t timeout_s) {
  berth_status rc = stop_service(in, call, ref, SIGTERM, timeout_s);
  return rc == BERTH_OK ? op_start(in, call, ref) : rc;
}

/* ------------------------------------------------------------ watching */

typedef struct pending {
  berth_event_type type;
  char id[NAME_MAX + 1];
  const char *action;
  int has_exit, exit_code;
} pending;

/* Commits the event being filled and returns the next slot, named for s. */
static pending *next_event(pending *events, int *n, const service *s) {
  pending *e = &events[++*n];
  memset(e, 0, sizeof *e);
  snprintf(e->id, sizeof e->id, "%s", s->name);
  return e;
}

static void *watch_loop(void *arg) {
  berth_instance *in = arg;
  pending events[MAX_SERVICES * 3];
  int announced = 0;
  for (;;) {
    int n = 0;
    pthread_mutex_lock(&in->lock);
    if (in->stopping) {
      pthread_mutex_unlock(&in->lock);
      return NULL;
    }
    scan(in);
    for (int i = 0; i < in->count; ++i) {
      service *s = &in->services[i];
      berth_state st = s->present ? state_of(s) : BERTH_STATE_UNKNOWN;
      pending *e = &events[n];
      memset(e, 0, sizeof *e);
      snprintf(e->id, sizeof e->id, "%s", s->name);
      if (!s->present) {
        if (s->reported != BERTH_STATE_UNKNOWN) {
          e->type = BERTH_EVENT_DESTROYED;
          e->action = "removed";
          ++n;
        }
        s->reported = BERTH_STATE_UNKNOWN;
        continue;
      }
      if (s->reported == BERTH_STATE_UNKNOWN) { /* a new service directory */
        e->type = BERTH_EVENT_CREATED;
        e->action = "appeared";
        e = next_event(events, &n, s);
        s->reported = BERTH_STATE_STOPPED;
      }
      /* A restart between two polls: the old process exited, a new one runs. */
      if (s->reported != BERTH_STATE_STOPPED && st != BERTH_STATE_STOPPED && s->pid != s->reported_pid) {
        e->type = BERTH_EVENT_EXITED;
        e->action = "exit";
        e->has_exit = s->has_exit;
        e->exit_code = s->exit_code;
        e = next_event(events, &n, s);
        s->reported = BERTH_STATE_STOPPED;
      }
      if (st != s->reported) {
        if (st == BERTH_STATE_RUNNING && s->reported == BERTH_STATE_PAUSED) {
          e->type = BERTH_EVENT_UNPAUSED;
          e->action = "SIGCONT";
        } else if (st == BERTH_STATE_RUNNING) {
          e->type = BERTH_EVENT_STARTED;
          e->action = "exec";
        } else if (st == BERTH_STATE_PAUSED) {
          e->type = BERTH_EVENT_PAUSED;
          e->action = "SIGSTOP";
        } else {
          e->type = BERTH_EVENT_EXITED;
          e->action = "exit";
          e->has_exit = s->has_exit;
          e->exit_code = s->exit_code;
        }
        ++n;
      }
      s->reported = st;
      s->reported_pid = s->pid;
    }
    pthread_mutex_unlock(&in->lock);

    for (int i = 0; i < n; ++i) { /* outside the lock: emit may block */
      berth_event ev;
      memset(&ev, 0, sizeof ev);
      ev.struct_size = sizeof ev;
      ev.type = events[i].type;
      ev.raw_action = events[i].action;
      ev.container_id = events[i].id;
      ev.container_name = events[i].id;
      ev.has_exit_code = events[i].has_exit;
      ev.exit_code = events[i].exit_code;
      host->emit(in->ctx, &ev);
    }
    if (!announced) { /* after the baseline scan: the host lists now */
      host->provider_state(in->ctx, BERTH_PROVIDER_UP, "watching");
      announced = 1;
    }
    sleep_ms(in->poll_ms);
  }
}

static berth_status op_watch_start(berth_instance *in, berth_call *call) {
  pthread_mutex_lock(&in->lock);
  if (in->watching) {
    pthread_mutex_unlock(&in->lock);
    return BERTH_OK;
  }
  in->stopping = 0;
  /* The baseline is taken now, so that a change made by an op right after
   * watch_start returns is already news to the watcher. */
  scan(in);
  for (int i = 0; i < in->count; ++i) {
    service *s = &in->services[i];
    s->reported = s->present ? state_of(s) : BERTH_STATE_UNKNOWN;
    s->reported_pid = s->pid;
  }
  int rc = pthread_create(&in->watcher, NULL, watch_loop, in);
  in->watching = rc == 0;
  pthread_mutex_unlock(&in->lock);
  return rc == 0 ? BERTH_OK : host->call_fail(call, BERTH_E_INTERNAL, "cannot start the watcher thread");
}

static void op_watch_stop(berth_instance *in) {
  pthread_mutex_lock(&in->lock);
  if (!in->watching) {
    pthread_mutex_unlock(&in->lock);
    return;
  }
  in->stopping = 1;
  pthread_mutex_unlock(&in->lock);
  pthread_join(in->watcher, NULL);
  in->watching = 0;
}

/* ------------------------------------------------------------ entry */

static const berth_provider_ops ops = {
    .struct_size = sizeof(berth_provider_ops),
    .create = op_create, .destroy = op_destroy, .capabilities = op_capabilities,
    .list = op_list, .inspect = op_inspect, .status = op_inspect,
    .start = op_start, .stop = op_stop, .kill = op_kill,
    .pause = op_pause, .unpause = op_unpause, .restart = op_restart,
    .watch_start = op_watch_start, .watch_stop = op_watch_stop,
};

static const berth_plugin_info info = {
    .struct_size = sizeof(berth_plugin_info), .abi_major = BERTH_ABI_MAJOR, .abi_minor = BERTH_ABI_MINOR,
    .name = "procdir", .version = "0.1.0",
    .description = "processes under a directory of run scripts (runit-style), in plain C",
    .flags = 0, .ops = &ops,
};

BERTH_EXPORT const berth_plugin_info *berth_provider_entry(const berth_host *h) {
  if (h->abi_major != BERTH_ABI_MAJOR) return NULL;
  host = h;
  return &info;
}
