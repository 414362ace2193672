/*
 * launch: the measurement core of the stockade benchmark.
 *
 * Starts launcher command lines with fork + execvp and times each one from just before
 * fork() to just after wait4() returns, with CLOCK_MONOTONIC. wait4's rusage gives the
 * CPU time and the peak RSS (ru_maxrss: the largest of the launcher and the descendants
 * it waited for; for every launcher here that is the launcher itself, /bin/true is ~1 MiB).
 *
 * Why a C program rather than hyperfine: the machine is shared and noisy, so launchers
 * are interleaved (one launch of each per round, in a shuffled order) and the ratios
 * within one run are what count; the fork of this small process is the floor every
 * launcher pays, so it must be small and constant; and hyperfine reports no RSS.
 *
 * Modes (SPEC is a file, one launcher a line: NAME TAB MNTNS TAB ARG0 TAB ARG1 ...;
 * MNTNS is "-" or a path such as /proc/PID/ns/mnt the child joins before execvp: crun
 * runs in a private mount namespace without the cgroup2 mount it refuses; the literal
 * "{i}" in an argument is replaced by a counter unique to each launch, for container ids):
 *
 *   launch interleave ROUNDS SPEC    per launch: NAME ROUND WALL_NS USER_US SYS_US MAXRSS_KB STATUS
 *   launch batch N REPS SPEC NAME    N concurrent launches, REPS times; per batch:
 *                                    NAME REP WALL_NS FAILURES MAXRSS_KB(max)
 *   launch seq COUNT SPEC NAME       COUNT back-to-back launches: NAME COUNT WALL_NS FAILURES
 *
 * Results go to stdout (TSV). The launchers' stdout goes to /dev/null; their stderr is
 * inherited (the driver sends it to a log). STATUS is the raw wait status.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_LAUNCHERS 64
#define MAX_ARGS 3300
#define MAX_BATCH 64

struct launcher {
  char *name;
  int mntns_fd; /* -1: stay in our mount namespace */
  int argc;
  char *argv[MAX_ARGS + 1];
  int has_counter; /* some argument contains "{i}" */
};

static struct launcher launchers[MAX_LAUNCHERS];
static int n_launchers;
static unsigned long launch_counter;
static int devnull = -1;

static void die(const char *what) {
  fprintf(stderr, "launch: %s: %s\n", what, strerror(errno));
  exit(2);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void load_spec(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) die(path);
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  while ((len = getline(&line, &cap, f)) > 0) {
    if (line[len - 1] == '\n') line[--len] = 0;
    if (len == 0 || line[0] == '#') continue;
    if (n_launchers == MAX_LAUNCHERS) {
      fprintf(stderr, "launch: too many launchers\n");
      exit(2);
    }
    struct launcher *l = &launchers[n_launchers++];
    char *save = NULL;
    char *tok = strtok_r(line, "\t", &save);
    l->name = strdup(tok);
    tok = strtok_r(NULL, "\t", &save);
    if (!tok) {
      fprintf(stderr, "launch: %s: no command\n", l->name);
      exit(2);
    }
    l->mntns_fd = -1;
    if (strcmp(tok, "-") != 0) {
      l->mntns_fd = open(tok, O_RDONLY | O_CLOEXEC);
      if (l->mntns_fd < 0) die(tok);
    }
    while ((tok = strtok_r(NULL, "\t", &save)) && l->argc < MAX_ARGS) {
      l->argv[l->argc++] = strdup(tok);
      if (strstr(tok, "{i}")) l->has_counter = 1;
    }
    l->argv[l->argc] = NULL;
    if (l->argc == 0) {
      fprintf(stderr, "launch: %s: no command\n", l->name);
      exit(2);
    }
    line = NULL; /* strdup'ed what we keep; leak the rest, this is a short-lived tool */
    cap = 0;
  }
  fclose(f);
}

static struct launcher *find(const char *name) {
  for (int i = 0; i < n_launchers; i++)
    if (strcmp(launchers[i].name, name) == 0) return &launchers[i];
  fprintf(stderr, "launch: no launcher named %s\n", name);
  exit(2);
}

/* argv for one launch, with "{i}" replaced; built before the clock starts. */
static char **build_argv(struct launcher *l, char *buf, size_t bufsz, char **out) {
  if (!l->has_counter) return l->argv;
  unsigned long id = ++launch_counter;
  size_t used = 0;
  for (int a = 0; a < l->argc; a++) {
    const char *src = l->argv[a];
    const char *hit = strstr(src, "{i}");
    if (!hit) {
      out[a] = (char *)src;
      continue;
    }
    int n = snprintf(buf + used, bufsz - used, "%.*s%lu%s", (int)(hit - src), src, id, hit + 3);
    if (n < 0 || (size_t)n >= bufsz - used) {
      fprintf(stderr, "launch: argument too long\n");
      exit(2);
    }
    out[a] = buf + used;
    used += (size_t)n + 1;
  }
  out[l->argc] = NULL;
  return out;
}

static pid_t start(struct launcher *l, char **argv) {
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    if (l->mntns_fd >= 0 && setns(l->mntns_fd, CLONE_NEWNS) != 0) _exit(121);
    dup2(devnull, 1);
    execvp(argv[0], argv);
    _exit(errno == ENOENT ? 127 : 126);
  }
  return pid;
}

struct result {
  int64_t wall_ns;
  struct rusage ru;
  int status;
};

static void launch_one(struct launcher *l, struct result *r) {
  char buf[4096];
  char *argv_buf[MAX_ARGS + 1];
  char **argv = build_argv(l, buf, sizeof buf, argv_buf);
  int64_t t0 = now_ns();
  pid_t pid = start(l, argv);
  while (wait4(pid, &r->status, 0, &r->ru) < 0)
    if (errno != EINTR) die("wait4");
  r->wall_ns = now_ns() - t0;
}

static int failed(int status) { return !WIFEXITED(status) || WEXITSTATUS(status) != 0; }

static void report_failure(const char *name, long iter, int status) {
  if (WIFEXITED(status))
    fprintf(stderr, "launch: %s #%ld exited with status %d\n", name, iter, WEXITSTATUS(status));
  else if (WIFSIGNALED(status))
    fprintf(stderr, "launch: %s #%ld killed by signal %d\n", name, iter, WTERMSIG(status));
}

static void mode_interleave(int rounds) {
  int order[MAX_LAUNCHERS];
  for (int i = 0; i < n_launchers; i++) order[i] = i;
  srand(12345);
  struct result r;
  /* One unrecorded warm-up round: page cache, dentries, first cgroup creation. */
  for (int i = 0; i < n_launchers; i++) launch_one(&launchers[i], &r);
  for (int round = 0; round < rounds; round++) {
    /* Shuffle so no launcher always follows the same one (cache and RCU effects). */
    for (int i = n_launchers - 1; i > 0; i--) {
      int j = rand() % (i + 1);
      int t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    for (int k = 0; k < n_launchers; k++) {
      struct launcher *l = &launchers[order[k]];
      launch_one(l, &r);
      if (failed(r.status)) report_failure(l->name, round, r.status);
      printf("%s\t%d\t%lld\t%ld\t%ld\t%ld\t%d\n", l->name, round, (long long)r.wall_ns,
             (long)(r.ru.ru_utime.tv_sec * 1000000 + r.ru.ru_utime.tv_usec),
             (long)(r.ru.ru_stime.tv_sec * 1000000 + r.ru.ru_stime.tv_usec), r.ru.ru_maxrss,
             r.status);
    }
    fflush(stdout);
  }
}

static void mode_batch(struct launcher *l, int n, int reps) {
  static char bufs[MAX_BATCH][4096];
  static char *argvs[MAX_BATCH][MAX_ARGS + 1];
  char **argv[MAX_BATCH];
  pid_t pids[MAX_BATCH];
  if (n > MAX_BATCH) {
    fprintf(stderr, "launch: batch too large\n");
    exit(2);
  }
  for (int rep = 0; rep < reps; rep++) {
    for (int i = 0; i < n; i++) argv[i] = build_argv(l, bufs[i], sizeof bufs[i], argvs[i]);
    int64_t t0 = now_ns();
    for (int i = 0; i < n; i++) pids[i] = start(l, argv[i]);
    int failures = 0;
    long maxrss = 0;
    for (int i = 0; i < n; i++) {
      int status;
      struct rusage ru;
      while (wait4(pids[i], &status, 0, &ru) < 0)
        if (errno != EINTR) die("wait4");
      if (failed(status)) {
        failures++;
        report_failure(l->name, (long)rep * n + i, status);
      }
      if (ru.ru_maxrss > maxrss) maxrss = ru.ru_maxrss;
    }
    int64_t wall = now_ns() - t0;
    printf("%s\t%d\t%lld\t%d\t%ld\n", l->name, rep, (long long)wall, failures, maxrss);
    fflush(stdout);
  }
}

static void mode_seq(struct launcher *l, int count) {
  struct result r;
  launch_one(l, &r); /* warm-up */
  int failures = 0;
  int64_t t0 = now_ns();
  for (int i = 0; i < count; i++) {
    launch_one(l, &r);
    if (failed(r.status)) {
      failures++;
      report_failure(l->name, i, r.status);
    }
  }
  int64_t wall = now_ns() - t0;
  printf("%s\t%d\t%lld\t%d\n", l->name, count, (long long)wall, failures);
}

static void usage(void) {
  fprintf(stderr,
          "usage: launch interleave ROUNDS SPEC\n"
          "       launch batch N REPS SPEC NAME\n"
          "       launch seq COUNT SPEC NAME\n");
  exit(2);
}

int main(int argc, char **argv) {
  if (argc < 4) usage();
  devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (devnull < 0) die("/dev/null");
  if (strcmp(argv[1], "interleave") == 0 && argc == 4) {
    load_spec(argv[3]);
    mode_interleave(atoi(argv[2]));
  } else if (strcmp(argv[1], "batch") == 0 && argc == 6) {
    load_spec(argv[4]);
    mode_batch(find(argv[5]), atoi(argv[2]), atoi(argv[3]));
  } else if (strcmp(argv[1], "seq") == 0 && argc == 5) {
    load_spec(argv[3]);
    mode_seq(find(argv[4]), atoi(argv[2]));
  } else {
    usage();
  }
  return 0;
}
