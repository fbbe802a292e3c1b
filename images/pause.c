/*
 * The pod sandbox's process (dawn.local/pause): holds the pod's namespaces open and
 * does nothing else. As PID 1 of the pod it must
 *   - exit on SIGINT/SIGTERM (the kernel ignores default-disposition signals sent to
 *     PID 1, so without handlers the sandbox could only be SIGKILLed), and
 *   - reap orphans re-parented to it when pods share a PID namespace, so no zombies pile up.
 * Same job as Kubernetes' build/pause/linux/pause.c. Built with `gcc -static -Os -s`
 * by images/prepare.ts, so the image needs no libc.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define VERSION "3.10-dawn"

static void on_stop(int signo) {
  /* Exit status 0: a requested stop is not a failure. */
  (void)signo;
  _exit(0);
}

static void on_child(int signo) {
  (void)signo;
  /* Reap every child that has exited; errno is restored for the interrupted code. */
  int saved = errno;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
  errno = saved;
}

static int install(int signo, void (*handler)(int), int flags) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = handler;
  sa.sa_flags = flags;
  sigemptyset(&sa.sa_mask);
  return sigaction(signo, &sa, NULL);
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "-v") == 0) {
      printf("pause %s\n", VERSION);
      return 0;
    }
  }
  if (getpid() != 1) {
    /* Still useful outside a PID namespace (tests), but say it is not the usual setup. */
    fprintf(stderr, "pause: warning: not running as PID 1\n");
  }
  if (install(SIGINT, on_stop, 0) < 0 || install(SIGTERM, on_stop, 0) < 0 ||
      install(SIGCHLD, on_child, SA_NOCLDSTOP | SA_RESTART) < 0) {
    perror("pause: sigaction");
    return 1;
  }
  for (;;) {
    pause();
  }
  return 42; /* not reached */
}
