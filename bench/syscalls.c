/* Syscall microbenchmarks run inside each launcher by bench/work.py: the cost of a
 * seccomp filter shows on every syscall (getppid: no work of its own), Landlock's on path
 * walks (open+close of a file). Prints "getppid_ns N" and "openclose_ns N", the best of
 * five batches (the least disturbed by other load). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
    const char *path = argc > 1 ? argv[1] : "/usr/bin/true";
    long n = argc > 2 ? atol(argv[2]) : 200000;
    double best_ppid = 1e18, best_open = 1e18;
    for (int batch = 0; batch < 5; batch++) {
        double t0 = now_ns();
        for (long i = 0; i < n; i++) syscall(SYS_getppid); /* not cached by libc */
        double t1 = now_ns();
        for (long i = 0; i < n / 4; i++) {
            int fd = open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0) { perror(path); return 1; }
            close(fd);
        }
        double t2 = now_ns();
        if ((t1 - t0) / n < best_ppid) best_ppid = (t1 - t0) / n;
        if ((t2 - t1) / (n / 4) < best_open) best_open = (t2 - t1) / (n / 4);
    }
    printf("getppid_ns %.1f\nopenclose_ns %.1f\n", best_ppid, best_open);
    return 0;
}
