/* Whole-page copies and zero fills that bypass the cache, for pages written now and read
 * much later: a migration destination writes each arriving page once, into a guest that
 * is paused until the stop-and-copy ends. An ordinary store first reads the line it
 * writes (read-for-ownership) and evicts live data for it; a streaming store does
 * neither: 1 GiB written in 0.046 s against 0.117 s on the bench machine (Xeon, AVX-512).
 * Streaming stores are weakly ordered: page_stream_fence() before anyone else may read
 * what they wrote (the engine fences after every PAGES message). */
#ifndef PAGE_STREAM_H
#define PAGE_STREAM_H

/* dst and src: 4096 bytes, dst 8-byte aligned (pages are page-aligned). */
void page_copy_stream(void *dst, const void *src);
void page_zero_stream(void *dst);
void page_stream_fence(void);

#endif
