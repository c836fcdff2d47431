/* AES-256 GCM-style counter mode (32-bit big-endian counter after a 96-bit IV) on
 * 256-bit VAES registers: two blocks per instruction where ipsec-mb 1.3's AVX2 path has
 * one. Used for the keystream on the AVX2 path when the CPU has VAES. */
#ifndef HVC_AES_CTR_VAES_H
#define HVC_AES_CTR_VAES_H
#include <stddef.h>
#include <stdint.h>

/* CPU has VAES + AVX2 and the OS enabled YMM state. */
int hvc_ctr_vaes_available(void);
/* out = in ^ AES_rk(iv || ctr) || AES_rk(iv || ctr+1) ...; rk = 15 round keys (AES-NI
 * layout, as ipsec-mb expands them); the counter wraps mod 2^32 as GCM's inc32. */
void hvc_ctr_vaes(const uint8_t rk[240], const uint8_t iv[12], uint32_t ctr, const uint8_t *in, uint8_t *out,
		  size_t len);
/* out = the keystream itself (as hvc_ctr_vaes with in all zero, without reading it). */
void hvc_ctr_vaes_keystream(const uint8_t rk[240], const uint8_t iv[12], uint32_t ctr, uint8_t *out, size_t len);
#endif
