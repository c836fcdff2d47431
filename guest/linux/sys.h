/* Raw x86-64 Linux system calls and the few kernel ABI types hbinit needs: it links no libc. */
#ifndef HBINIT_SYS_H
#define HBINIT_SYS_H
#include <stddef.h>
#include <stdint.h>

#define SYS_read	  0
#define SYS_write	  1
#define SYS_close	  3
#define SYS_mmap	  9
#define SYS_ioctl	  16
#define SYS_getpid	  39
#define SYS_clock_gettime 228
#define SYS_exit_group	  231
#define SYS_openat	  257
#define SYS_ppoll	  271

#define EINTR  4
#define EAGAIN 11

#define AT_FDCWD	(-100)
#define O_RDWR		02
#define O_SYNC		04010000
#define PROT_READ	1
#define PROT_WRITE	2
#define MAP_SHARED	0x01
#define MAP_PRIVATE	0x02
#define MAP_ANONYMOUS	0x20
#define MAP_POPULATE	0x8000
#define CLOCK_MONOTONIC 1
#define POLLIN		0x1

#define TCGETS	  0x5401
#define TCSETS	  0x5402
#define TCSBRK	  0x5409
#define TC_ECHO	  0000010
#define TC_ECHONL 0000100

struct k_timespec {
	long tv_sec;
	long tv_nsec;
};

struct k_pollfd {
	int fd;
	short events;
	short revents;
};

/* The kernel's own struct termios (TCGETS/TCSETS), not glibc's larger one. */
struct k_termios {
	uint32_t c_iflag, c_oflag, c_cflag, c_lflag;
	uint8_t c_line;
	uint8_t c_cc[19];
};

/* One entry point for all of them: unused argument registers are harmless. Returns the
 * kernel's value: -errno (-4095..-1) on failure. */
static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	register long r9 __asm__("r9") = f;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static inline int sys_failed(long r) { return r < 0 && r >= -4095; }

static inline long sys_read(int fd, void *buf, size_t n) { return sys6(SYS_read, fd, (long)buf, (long)n, 0, 0, 0); }
static inline long sys_write(int fd, const void *buf, size_t n)
{
	return sys6(SYS_write, fd, (long)buf, (long)n, 0, 0, 0);
}
static inline long sys_openat(const char *path, int flags)
{
	return sys6(SYS_openat, AT_FDCWD, (long)path, flags, 0, 0, 0);
}
static inline long sys_close(int fd) { return sys6(SYS_close, fd, 0, 0, 0, 0, 0); }
static inline long sys_mmap(size_t len, int prot, int flags, int fd, uint64_t off)
{
	return sys6(SYS_mmap, 0, (long)len, prot, flags, fd, (long)off);
}
static inline long sys_ioctl(int fd, unsigned long req, long arg)
{
	return sys6(SYS_ioctl, fd, (long)req, arg, 0, 0, 0);
}
static inline long sys_getpid(void) { return sys6(SYS_getpid, 0, 0, 0, 0, 0, 0); }
static inline long sys_clock_gettime(int clk, struct k_timespec *ts)
{
	return sys6(SYS_clock_gettime, clk, (long)ts, 0, 0, 0, 0);
}
/* No signal mask: hbinit installs no handlers. A NULL timeout waits forever. */
static inline long sys_ppoll(struct k_pollfd *fds, unsigned n, const struct k_timespec *timeout)
{
	return sys6(SYS_ppoll, (long)fds, n, (long)timeout, 0, 8, 0);
}
static inline __attribute__((noreturn)) void sys_exit_group(int code)
{
	sys6(SYS_exit_group, code, 0, 0, 0, 0, 0);
	__builtin_unreachable();
}

#endif
