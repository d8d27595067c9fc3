#ifndef DREAMVIDEO_CBLAS_SHIM_H
#define DREAMVIDEO_CBLAS_SHIM_H
#include <cblas.h>
#include <limits.h>
#if defined(__GLIBC__) || defined(__linux__)
#include <malloc.h>
#endif

/* The engine frees and re-allocates feature maps every step: keep freed memory in the heap rather
   than returning it to the kernel (and page-faulting it back in on the next step). glibc only. */
static inline void dv_retain_freed_memory(void) {
#if defined(M_MMAP_MAX) && defined(M_TRIM_THRESHOLD)
    mallopt(M_MMAP_MAX, 0);
    mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
}

/* Asks the CPU to bring the cache line holding `p` into its caches ahead of use (a hint; never faults). */
static inline void dv_prefetch(const void *p) {
    __builtin_prefetch(p, 0, 3);
}
#endif
