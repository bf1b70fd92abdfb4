/* targets.h — the fuzz targets, shared by the fuzzer entry points
 * (fuzz_*.c: libFuzzer's LLVMFuzzerTestOneInput, also what AFL++'s
 * afl-clang-fast links with -fsanitize=fuzzer) and by tests/check_fuzz.c,
 * which replays the regression corpus tests/fuzz/corpus/<target>/ in
 * `make check`.
 *
 * Each target takes arbitrary bytes and returns 0.  A bug shows as a crash,
 * a sanitizer report, a hang, or — for the property target — an abort()
 * with the violated property on stderr. */
#ifndef EIN_FUZZ_TARGETS_H
#define EIN_FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

/* The bytes as a .ein file: parse, then check (imports from stdlib/ or
 * $EIN_FUZZ_STDLIB, names, rules, grid expansion). */
int ein_fuzz_check(const uint8_t *data, size_t size);

/* The bytes as an IDX pair.  data[0] chooses the split point and the limit;
 * the rest is cut in two: an image file and a label file (either may be
 * gzip: zlib recognises the magic), loaded with ein_dataset_load_files and,
 * when that succeeds, one batch filled from the result. */
int ein_fuzz_idx(const uint8_t *data, size_t size);

/* The property behind `einrun fmt`: when the bytes parse, the printed form
 * parses to an equal AST and printing it again gives the same text. */
int ein_fuzz_fmt(const uint8_t *data, size_t size);

#endif
