/* 64-bit entry used by the UEFI loader: fresh stack, then hv_main_uefi(boot_info). */
	.text
	.code64
	.global hv_entry64
hv_entry64:
	cli
	cld
	lea boot_stack_top(%rip), %rsp
	call hv_main_uefi
1:	cli
	hlt
	jmp 1b
