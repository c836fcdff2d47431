/* Unit tests of the boot-configuration parser: values, defaults kept on bad
 * input, unknown keys reported, and the GRUB kernel path tolerated. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "config.h"
#include "guest_abi.h"

static char out[4096];
static size_t outlen;
static void cap(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	memcpy(out + outlen, s, n);
	outlen += n;
	out[outlen] = 0;
}
static const struct printer P = { cap, 0 };

static void parses_values(void **state)
{
	(void)state;
	struct hv_config c;
	config_defaults(&c);
	outlen = 0;
	int bad = config_parse(&c,
			       "/boot/hv.elf console=38400 exit_on_panic=1 vms=work,wset,work "
			       "vm_mem_kib=8192 hb_ms=250 write_rate=0 wset_pages=64 autostart=0 dirty=ad slice_ms=5",
			       &P);
	assert_int_equal(bad, 0);
	assert_int_equal(outlen, 0);
	assert_int_equal(c.console_baud, 38400);
	assert_int_equal(c.exit_on_panic, 1);
	assert_int_equal(c.nvms, 3);
	assert_int_equal(c.vm_mode[1], GUEST_MODE_WSET);
	assert_int_equal(c.vm_mem_kib, 8192);
	assert_int_equal(c.hb_ms, 250);
	assert_int_equal(c.write_rate, 0);
	assert_int_equal(c.wset_pages, 64);
	assert_int_equal(c.autostart, 0);
	assert_int_equal(c.dirty, DIRTY_AD);
	assert_int_equal(c.slice_ms, 5);
	config_parse(&c, "vms=none", &P);
	assert_int_equal(c.nvms, 0);
	assert_int_equal(config_parse(&c, "ip=192.0.2.7/28 gw=192.0.2.1 mac=52:54:00:Ab:cD:09", &P), 0);
	assert_int_equal(c.ip, 0xc0000207u);
	assert_int_equal(c.ip_prefix, 28);
	assert_int_equal(c.gw, 0xc0000201u);
	assert_true(c.has_mac);
	const uint8_t mac[6] = { 0x52, 0x54, 0, 0xab, 0xcd, 9 };
	assert_memory_equal(c.mac, mac, 6);
	assert_int_equal(
		config_parse(
			&c,
			"psk=00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF "
			"key_id=7 mig_policy=opportunistic mig_port=9000 downtime_ms=150 outrun=abort bw_cap_kib=512",
			&P),
		0);
	assert_int_equal(c.bw_cap_kib, 512);
	assert_int_equal(c.psk_len, 32);
	assert_int_equal(c.psk[31], 0xff);
	assert_int_equal(c.key_id, 7);
	assert_int_equal(c.mig_policy, 1);
	assert_int_equal(c.mig_port, 9000);
	assert_int_equal(c.downtime_ms, 150);
	assert_int_equal(c.outrun_abort, 1);
	assert_int_equal(
		config_parse(&c, "peer=lab-b@192.0.2.2 peer=far_c@198.51.100.7:9100 peer=lab-b@192.0.2.9:7002", &P), 0);
	assert_int_equal(c.npeers, 2);
	const struct hv_peer *pb = config_find_peer(&c, "lab-b");
	assert_non_null(pb);
	assert_int_equal(pb->ip, 0xc0000209u); /* replaced by the later word */
	assert_int_equal(pb->port, 7002);
	assert_int_equal(config_find_peer(&c, "far_c")->port, 9100);
	assert_null(config_find_peer(&c, "nobody"));
	assert_int_equal(config_parse(&c, "ip=10.1.2.3", &P), 0);
	assert_int_equal(c.ip_prefix, 24); /* a bare address gets a /24 */
}

static void bad_input_keeps_defaults(void **state)
{
	(void)state;
	struct hv_config c, d;
	config_defaults(&c);
	config_defaults(&d);
	outlen = 0;
	int bad = config_parse(&c,
			       "console=12345 console=abc vms=work,bogus vms= vm_mem_kib=1 hb_ms=99999999999 "
			       "dirty=maybe wset_pages=65 novalue colour=blue =5",
			       &P);
	assert_int_equal(bad, 11);
	assert_memory_equal(&c, &d, sizeof(c));
	assert_non_null(strstr(out, "bad value '12345' for 'console'"));
	assert_non_null(strstr(out, "unknown key 'colour'"));
	assert_non_null(strstr(out, "'novalue' is not key=value"));
	char longword[300];
	memset(longword, 'k', sizeof(longword) - 1);
	longword[sizeof(longword) - 1] = 0;
	outlen = 0;
	assert_int_equal(config_parse(&c, longword, &P), 1);
	assert_non_null(strstr(out, "word too long"));
	assert_int_equal(config_parse(&c, "", &P), 0);
	assert_int_equal(config_parse(&c, "   \t\r\n ", &P), 0);
	assert_int_equal(config_parse(&c, 0, &P), 0);
	assert_int_equal(config_parse(&c, "vms=work,work,work,work,work,work,work,work,work", &P), 1);
	assert_int_equal(c.nvms, d.nvms);
	const char *bad_net[] = { "ip=1.2.3",
				  "ip=1.2.3.4.5",
				  "ip=256.1.1.1",
				  "ip=1.2.3.4/33",
				  "ip=1.2.3.4/0",
				  "ip=0.0.0.0",
				  "ip=1..2.3",
				  "ip=1.2.3.4x",
				  "ip=0001.2.3.4",
				  "gw=1.2.3.4/8",
				  "mac=52:54:00:12:34",
				  "mac=52:54:00:12:34:5g",
				  "mac=01:00:5e:00:00:01",
				  "mac=52:54:00:12:34:56:78",
				  "mac=525400123456",
				  "peer=@1.2.3.4",
				  "peer=x",
				  "peer=a.b@1.2.3.4",
				  "peer=9lives@1.2.3.4",
				  "peer=b@1.2.3.4:0",
				  "peer=b@1.2.3.4:70000",
				  "peer=b@nowhere",
				  "peer=averyveryverylongname@1.2.3.4",
				  "peer=b@0.0.0.0" };
	for (unsigned i = 0; i < sizeof(bad_net) / sizeof(bad_net[0]); i++) {
		outlen = 0;
		assert_int_equal(config_parse(&c, bad_net[i], &P), 1);
		assert_non_null(strstr(out, "bad value"));
	}
	assert_memory_equal(&c, &d, sizeof(c));
	/* A malformed PSK is refused and never shown back. */
	outlen = 0;
	assert_int_equal(config_parse(&c, "psk=0011223344556677889900112233445566778899zz", &P), 1);
	assert_null(strstr(out, "0011223344"));
	assert_non_null(strstr(out, "(hidden)"));
	assert_int_equal(config_parse(&c, "psk=00112233", &P), 1); /* too short */
	assert_int_equal(c.psk_len, 0);
}

/* Issue 13, finding 4: a 64-byte PSK (128 hex digits) is a legal boot word; an even longer
 * word is refused, and neither ever reaches the console. */
static void long_psk_words_are_taken_or_refused_unseen(void **state)
{
	(void)state;
	char line[300] = "psk=";
	for (unsigned i = 0; i < 128; i++)
		line[4 + i] = "0123456789abcdef"[(i * 7 + 3) & 15];
	struct hv_config c;
	config_defaults(&c);
	outlen = 0;
	out[0] = 0;
	assert_int_equal(config_parse(&c, line, &P), 0);
	assert_int_equal(c.psk_len, 64);
	assert_int_equal(outlen, 0);
	/* 240 hex digits: too long for any key; the console learns the key's name only. */
	for (unsigned i = 128; i < 240; i++)
		line[4 + i] = "0123456789abcdef"[(i * 5 + 1) & 15];
	config_defaults(&c);
	assert_int_equal(config_parse(&c, line, &P), 1);
	assert_int_equal(c.psk_len, 0);
	assert_non_null(strstr(out, "psk"));
	for (unsigned i = 4; i + 8 <= 244; i++) {
		char piece[9];
		memcpy(piece, line + i, 8);
		piece[8] = 0;
		assert_null(strstr(out, piece));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_values),
		cmocka_unit_test(bad_input_keeps_defaults),
		cmocka_unit_test(long_psk_words_are_taken_or_refused_unseen),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
