/* fuzz_idx.c — libFuzzer / AFL++ entry point for ein_fuzz_idx (targets.h). */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return ein_fuzz_idx(data, size);
}
