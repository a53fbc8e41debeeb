// Linked into every executable of a DIALGRID_SANITIZE=thread build only
// (cmake/Sanitizers.cmake). Not Dialgrid code: a workaround for the toolchain.
//
// Debian 12's librdkafka runs its threads and locks with C11 <threads.h>
// (thrd_create, mtx_lock, cnd_wait, ...). In glibc >= 2.34 those call glibc's
// internal pthread functions directly, so GCC 12's ThreadSanitizer runtime,
// which intercepts pthread_create / pthread_mutex_lock but has no C11
// interceptors (LLVM added them in 16), never learns about librdkafka's
// threads: the first malloc on one of them crashes the process
// ("ThreadSanitizer: SEGV ... nested bug in the same thread"), and its locks
// would be invisible anyway. These definitions take precedence over glibc's
// for librdkafka's calls and forward each one to the pthread function that
// ThreadSanitizer intercepts, exactly as glibc itself implements them.
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <threads.h>
#include <time.h>

static int dialgrid_thrd_result(int err) {
  switch (err) {
    case 0: return thrd_success;
    case EBUSY: return thrd_busy;
    case ETIMEDOUT: return thrd_timedout;
    case ENOMEM: return thrd_nomem;
    default: return thrd_error;
  }
}

struct dialgrid_thrd_start {
  thrd_start_t func;
  void* arg;
};

static void* dialgrid_thrd_trampoline(void* p) {
  struct dialgrid_thrd_start start = *(struct dialgrid_thrd_start*)p;
  free(p);
  return (void*)(intptr_t)start.func(start.arg);
}

int thrd_create(thrd_t* thr, thrd_start_t func, void* arg) {
  struct dialgrid_thrd_start* start = malloc(sizeof *start);
  if (start == NULL) return thrd_nomem;
  start->func = func;
  start->arg = arg;
  int err = pthread_create(thr, NULL, dialgrid_thrd_trampoline, start);
  if (err != 0) free(start);
  return dialgrid_thrd_result(err);
}

int thrd_join(thrd_t thr, int* res) {
  void* value = NULL;
  int err = pthread_join(thr, &value);
  if (err == 0 && res != NULL) *res = (int)(intptr_t)value;
  return dialgrid_thrd_result(err);
}

int thrd_detach(thrd_t thr) { return dialgrid_thrd_result(pthread_detach(thr)); }

void thrd_exit(int res) { pthread_exit((void*)(intptr_t)res); }

int mtx_init(mtx_t* mtx, int type) {
  pthread_mutexattr_t attr;
  pthread_mutexattr_init(&attr);
  if (type & mtx_recursive) pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
  int err = pthread_mutex_init((pthread_mutex_t*)mtx, &attr);
  pthread_mutexattr_destroy(&attr);
  return dialgrid_thrd_result(err);
}

int mtx_lock(mtx_t* mtx) { return dialgrid_thrd_result(pthread_mutex_lock((pthread_mutex_t*)mtx)); }

int mtx_trylock(mtx_t* mtx) {
  return dialgrid_thrd_result(pthread_mutex_trylock((pthread_mutex_t*)mtx));
}

int mtx_timedlock(mtx_t* restrict mtx, const struct timespec* restrict ts) {
  return dialgrid_thrd_result(pthread_mutex_timedlock((pthread_mutex_t*)mtx, ts));
}

int mtx_unlock(mtx_t* mtx) {
  return dialgrid_thrd_result(pthread_mutex_unlock((pthread_mutex_t*)mtx));
}

void mtx_destroy(mtx_t* mtx) { pthread_mutex_destroy((pthread_mutex_t*)mtx); }

int cnd_init(cnd_t* cond) { return dialgrid_thrd_result(pthread_cond_init((pthread_cond_t*)cond, NULL)); }

int cnd_signal(cnd_t* cond) { return dialgrid_thrd_result(pthread_cond_signal((pthread_cond_t*)cond)); }

int cnd_broadcast(cnd_t* cond) {
  return dialgrid_thrd_result(pthread_cond_broadcast((pthread_cond_t*)cond));
}

int cnd_wait(cnd_t* cond, mtx_t* mtx) {
  return dialgrid_thrd_result(pthread_cond_wait((pthread_cond_t*)cond, (pthread_mutex_t*)mtx));
}

int cnd_timedwait(cnd_t* restrict cond, mtx_t* restrict mtx,
                  const struct timespec* restrict ts) {
  return dialgrid_thrd_result(
      pthread_cond_timedwait((pthread_cond_t*)cond, (pthread_mutex_t*)mtx, ts));
}

void cnd_destroy(cnd_t* cond) { pthread_cond_destroy((pthread_cond_t*)cond); }

void call_once(once_flag* flag, void (*func)(void)) { pthread_once((pthread_once_t*)flag, func); }
