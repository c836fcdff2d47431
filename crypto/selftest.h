/* Known-answer self-test of every AES-256-GCM path this CPU can run; meant for the
 * hypervisor at boot (e.g. under Bochs "tigerlake" to exercise the VAES/AVX-512 path). */
#ifndef HVC_SELFTEST_H
#define HVC_SELFTEST_H

/* Runs GCM spec test cases 14-16 (AES-256), decryption with a bad tag, and the
 * keystream + GHASH composition on each available path. Returns HVC_OK or
 * HVC_E_AUTH_TAG on a wrong answer; *ran and *skipped get bit masks (1 << path). */
int hvc_crypto_selftest(unsigned *ran, unsigned *skipped);
#endif
