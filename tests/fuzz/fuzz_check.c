/* fuzz_check.c — libFuzzer / AFL++ entry point for ein_fuzz_check (targets.h). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ein_fuzz_check(data, size);
}
