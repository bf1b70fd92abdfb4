/* fuzz_fmt.c — libFuzzer / AFL++ entry point for ein_fuzz_fmt (targets.h). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ein_fuzz_fmt(data, size);
}
