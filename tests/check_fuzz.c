/* check_fuzz.c — the fuzzing regression corpus: every input in
 * tests/fuzz/corpus/<target>/ (crashes, hangs and leaks the fuzzers found,
 * and hand-made hostile inputs) goes through its fuzz target (fuzz/targets.h)
 * again.  Each input runs in its own forked test with a timeout, so a crash
 * or a hang fails that input alone; under `make asan` leaks fail too. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz/targets.h"
#include "testutil.h"

typedef int (*target_fn)(const uint8_t *, size_t);

static const struct {
    const char *name;
    target_fn fn;
} targets[] = {
    { "check", ein_fuzz_check },
    { "idx", ein_fuzz_idx },
    { "fmt", ein_fuzz_fmt },
};
#define N_TARGETS (int)(sizeof targets / sizeof *targets)

static int is_input(const struct dirent *e)
{
    return e->d_name[0] != '.';
}

/* The corpus of target t in name order (caller frees). */
static int corpus(int t, struct dirent ***list)
{
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus/%s", targets[t].name);
    return scandir(dir, list, is_input, alphasort);
}

static void free_list(struct dirent **list, int n)
{
    for (int i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

/* Input _i of all targets' corpora, concatenated in target order. */
START_TEST(corpus_input_replays)
{
    int k = _i;
    for (int t = 0; t < N_TARGETS; t++) {
        struct dirent **list;
        int n = corpus(t, &list);
        if (n < 0)
            n = 0;
        if (k < n) {
            char path[512];
            snprintf(path, sizeof path, "tests/fuzz/corpus/%s/%s", targets[t].name, list[k]->d_name);
            free_list(list, n);
            size_t len;
            char *data = tu_read_file(path, &len);
            ck_assert_msg(data != NULL, "cannot read %s", path);
            ck_assert_int_eq(targets[t].fn((const uint8_t *)data, len), 0);
            free(data);
            return;
        }
        free_list(list, n);
        k -= n;
    }
    ck_abort_msg("input %d is not in the corpus", _i);
}
END_TEST

/* Every target has regression inputs, so a renamed folder cannot silently
 * replay nothing. */
START_TEST(every_target_has_a_corpus)
{
    for (int t = 0; t < N_TARGETS; t++) {
        struct dirent **list;
        int n = corpus(t, &list);
        ck_assert_msg(n >= 3, "tests/fuzz/corpus/%s has %d inputs", targets[t].name, n);
        free_list(list, n);
    }
}
END_TEST

Suite *ein_test_suite(void);

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("fuzz corpus");
    TCase *tc = tcase_create("replay");
    tcase_set_timeout(tc, 30);
    int total = 0;
    for (int t = 0; t < N_TARGETS; t++) {
        struct dirent **list;
        int n = corpus(t, &list);
        if (n > 0) {
            total += n;
            free_list(list, n);
        }
    }
    tcase_add_loop_test(tc, corpus_input_replays, 0, total > 0 ? total : 1);
    tcase_add_test(tc, every_target_has_a_corpus);
    suite_add_tcase(s, tc);
    return s;
}
