/* The test guest, embedded in the hypervisor image so both boot paths have it. */
	.section .rodata
	.align 4096
	.global testguest_image_start, testguest_image_end
testguest_image_start:
	.incbin GUEST_BIN
testguest_image_end:
