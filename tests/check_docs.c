/* check_docs.c — documentation that cannot drift: tools/doctest fails when a
 * documented command's output changes, and the editor syntax files know every
 * keyword of the scanner. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/cli.h"
#include "testutil.h"

static int doctest(const char *md_text, char **out)
{
    char *dir = tu_mkdtemp(), path[600], cmd[1400];
    snprintf(path, sizeof path, "%s/doc.md", dir);
    ck_assert_int_eq(tu_write_file(path, md_text, strlen(md_text)), 0);
    snprintf(cmd, sizeof cmd, "EIN_EINRUN=%s sh tools/doctest %s", tu_einrun(), path);
    int rc = tu_run(cmd, out);
    tu_rmtree(dir);
    free(dir);
    return rc;
}

START_TEST(doctest_passes_what_the_commands_print)
{
    char *out = NULL;
    int rc = doctest("# doc\n\n```console\n$ einrun --version\neinrun " EIN_VERSION "\n"
                     "$ einrun --check examples/quickstart.ein\n"
                     "$ einrun fmt nothere.ein\n[exit 74]\n"
                     "$ printf 'a\\nb\\nc\\n'\na\n...\n```\n", &out);
    ck_assert_msg(rc == 0 && strstr(out, "doctest: 4 commands, 4 passed, 0 failed"), "rc %d: %s", rc, out);
    free(out);
}
END_TEST

START_TEST(doctest_fails_when_the_output_changes)
{
    char *out = NULL;
    int rc = doctest("# doc\n\ntext\n\n```console\n$ einrun --version\neinrun 0.0.9\n"
                     "$ einrun --check nothere.ein\n```\n", &out);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(out, "/doc.md:6: $ einrun --version\n") && strstr(out, "  -einrun 0.0.9\n") &&
                  strstr(out, "  +einrun " EIN_VERSION "\n"), "%s", out);
    ck_assert_msg(strstr(out, "/doc.md:8: $ einrun --check nothere.ein\n  exit status 74, the document says 0"),
                  "%s", out);
    ck_assert_msg(strstr(out, "doctest: 2 commands, 0 passed, 2 failed"), "%s", out);
    free(out);
}
END_TEST

/* Every word of the scanner's keyword table, in both editor grammars. */
START_TEST(editor_syntax_knows_every_keyword)
{
    size_t n;
    char *lex = tu_read_file("grammar/ein.l", &n);
    char *vim = tu_read_file("tools/editor/vim/syntax/ein.vim", &n);
    char *tm = tu_read_file("tools/editor/textmate/ein.tmLanguage.json", &n);
    ck_assert(lex && vim && tm);
    char *table = strstr(lex, "keywords[] = {");
    ck_assert(table != NULL);
    char *end = strstr(table, "};");
    int words = 0;
    for (char *p = strstr(table, "{ \""); p && p < end; p = strstr(p + 1, "{ \"")) {
        char word[64];
        ck_assert(sscanf(p, "{ \"%63[^\"]\"", word) == 1);
        if (strcmp(word, "x") == 0)
            continue;                      /* `hidden L x 2`: a name elsewhere */
        char v[80], t[80];
        snprintf(v, sizeof v, " %s", word);
        snprintf(t, sizeof t, "|%s|", word);
        char t1[80], t2[80];
        snprintf(t1, sizeof t1, "(%s|", word);
        snprintf(t2, sizeof t2, "|%s)", word);
        ck_assert_msg(strstr(vim, v), "vim syntax lacks keyword '%s'", word);
        ck_assert_msg(strstr(tm, t) || strstr(tm, t1) || strstr(tm, t2), "TextMate grammar lacks keyword '%s'", word);
        words++;
    }
    ck_assert_int_ge(words, 30);
    free(lex);
    free(vim);
    free(tm);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("docs");
    TCase *tc = tcase_create("doctest");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, doctest_passes_what_the_commands_print);
    tcase_add_test(tc, doctest_fails_when_the_output_changes);
    tcase_add_test(tc, editor_syntax_knows_every_keyword);
    suite_add_tcase(s, tc);
    return s;
}
