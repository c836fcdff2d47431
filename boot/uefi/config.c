/* Reading files from the loader's own ESP (\hv.cfg, \hv.elf, boot modules) and finding the ACPI RSDP in
 * the UEFI configuration table. */
#include "hvloader.h"
#include "cfg_parse.h"

EFI_FILE_HANDLE open_esp_root(EFI_HANDLE image)
{
	EFI_LOADED_IMAGE *li = NULL;
	EFI_STATUS st;

	/* The ESP is the device the firmware loaded BOOTX64.EFI from. */
	st = BS->HandleProtocol(image, &LoadedImageProtocol, (void **)&li);
	if (EFI_ERROR(st) || !li) {
		fail_msg(L"cannot get the loaded-image protocol: %r\n", st);
		return NULL;
	}
	EFI_FILE_HANDLE root = LibOpenRoot(li->DeviceHandle);
	if (!root)
		fail_msg(L"cannot open the file system the loader was started from\n");
	return root;
}

EFI_STATUS open_file(EFI_FILE_HANDLE root, const CHAR16 *path, EFI_FILE_HANDLE *fh, UINT64 *size)
{
	EFI_FILE_INFO *info;
	EFI_STATUS st;

	*size = 0;
	st = root->Open(root, fh, (CHAR16 *)path, EFI_FILE_MODE_READ, 0);
	if (EFI_ERROR(st))
		return st;
	info = LibFileInfo(*fh);
	if (!info) {
		(*fh)->Close(*fh);
		return EFI_DEVICE_ERROR;
	}
	*size = info->FileSize;
	FreePool(info);
	return EFI_SUCCESS;
}

EFI_STATUS read_file(EFI_FILE_HANDLE root, const CHAR16 *path, UINT8 **data, UINT64 *size)
{
	EFI_FILE_HANDLE fh;
	EFI_STATUS st;
	UINT64 fsize;
	UINTN n;
	UINT8 *buf;

	*data = NULL;
	*size = 0;
	st = open_file(root, path, &fh, &fsize);
	if (EFI_ERROR(st))
		return st;
	n = fsize;
	/* One spare byte so that an empty file still gets a buffer. */
	buf = AllocatePool(n + 1);
	if (!buf) {
		fh->Close(fh);
		return EFI_OUT_OF_RESOURCES;
	}
	UINTN want = n;
	st = fh->Read(fh, &n, buf);
	fh->Close(fh);
	if (!EFI_ERROR(st) && n != want)
		st = EFI_END_OF_FILE; /* short read: treat as a damaged file */
	if (EFI_ERROR(st)) {
		FreePool(buf);
		return st;
	}
	*data = buf;
	*size = n;
	return EFI_SUCCESS;
}

EFI_STATUS load_cmdline(EFI_FILE_HANDLE root, char *cmdline, UINT64 max)
{
	UINT8 *data;
	UINT64 size, bad;
	const char *err;
	EFI_STATUS st;

	cmdline[0] = 0;
	st = read_file(root, L"\\hv.cfg", &data, &size);
	if (st == EFI_NOT_FOUND) {
		Print(L"hvloader: no \\hv.cfg, empty command line\n");
		return EFI_SUCCESS;
	}
	if (EFI_ERROR(st)) {
		fail_msg(L"cannot read \\hv.cfg: %r\n", st);
		return st;
	}
	err = cfg_parse(data, size, cmdline, max, &bad);
	/* The file may hold the migration PSK: leave no copy in freed pool memory. */
	for (UINT64 i = 0; i < size; i++)
		((volatile UINT8 *)data)[i] = 0;
	FreePool(data);
	if (err) {
		fail_msg(L"bad \\hv.cfg: %a %ld (at most %ld characters, printable ASCII, one line)\n", err, bad,
			 max - 1);
		return EFI_INVALID_PARAMETER;
	}
	/* Never echo a secret to the console (it may be logged or shared). */
	static char shown[512];
	cfg_redact(cmdline, shown, sizeof(shown));
	Print(L"hvloader: cmdline \"%a\"\n", shown);
	return EFI_SUCCESS;
}

UINT64 find_acpi_rsdp(EFI_SYSTEM_TABLE *systab)
{
	EFI_GUID acpi20 = ACPI_20_TABLE_GUID, acpi10 = ACPI_TABLE_GUID;
	UINT64 v1 = 0;
	UINTN i;

	/* The ACPI 2.0 RSDP (with the XSDT) is preferred; 1.0 only as fallback. */
	for (i = 0; i < systab->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &systab->ConfigurationTable[i];
		if (CompareGuid(&t->VendorGuid, &acpi20) == 0)
			return (UINT64)(UINTN)t->VendorTable;
		if (CompareGuid(&t->VendorGuid, &acpi10) == 0)
			v1 = (UINT64)(UINTN)t->VendorTable;
	}
	return v1;
}
