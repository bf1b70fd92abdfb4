/* check_lexer.c — the scanner alone: tokens and their exact locations for a
 * table of inputs, number and string decoding, lexical errors. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ein/ast.h"
#include "ein/diag.h"
#include "ein.tab.h"
#define YYSTYPE EIN_YYSTYPE
#define YYLTYPE ein_loc
#include "ein.yy.h"

static const char *token_name(int tok, char *buf)
{
    static const struct { int tok; const char *name; } names[] = {
        { IDENT, "IDENT" }, { INT, "INT" }, { REAL, "REAL" }, { STRING, "STRING" },
        { IMPORT, "import" }, { EXPERIMENT, "experiment" }, { DEF, "def" }, { IN, "in" },
        { TRUE, "true" }, { FALSE, "false" }, { AND, "and" }, { OR, "or" }, { NOT, "not" },
        { IF, "if" }, { THEN, "then" }, { ELSE, "else" }, { DATA, "data" }, { NETWORK, "network" },
        { NORM, "norm" }, { LOSS, "loss" }, { TRAIN, "train" }, { GRID, "grid" }, { REPORT, "report" },
        { INPUT, "input" }, { HIDDEN, "hidden" }, { OUTPUT, "output" }, { FORWARD, "forward" },
        { BACKWARD, "backward" }, { WEIGHT, "weight" }, { UPDATES, "updates" }, { ZIP, "zip" },
        { SAMPLE, "sample" }, { TABLE, "table" }, { WHERE, "where" }, { SEED, "seed" }, { X, "x" },
        { DOTDOT, ".." }, { EQ, "==" }, { NE, "!=" }, { LE, "<=" }, { GE, ">=" },
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (names[i].tok == tok)
            return names[i].name;
    snprintf(buf, 8, "%c", tok);
    return buf;
}

/* Scan `len` bytes; returns "TOKEN@line:col-line:col ..." (malloc'd), and
 * the diagnostics' first lines in *errors (malloc'd, may be ""). */
static char *lex(const char *src, size_t len, char **errors)
{
    ein_diag *d = ein_diag_new();
    int file = ein_diag_add_source(d, "t.ein", src, len);
    ein_pstate *st = calloc(1, sizeof *st);
    st->diag = d;
    st->prog = ein_program_new(file, "t.ein");
    st->file = file;
    st->text = ein_diag_source_text(d, file, &st->len);
    st->line = st->col = 1;
    st->tokens_since_lex_error = 1 << 20;
    yyscan_t scanner;
    ck_assert_int_eq(ein_yylex_init_extra(st, &scanner), 0);
    YY_BUFFER_STATE buf = ein_yy_scan_bytes(st->text, (int)st->len, scanner);

    char *out = NULL;
    size_t out_len = 0;
    FILE *f = open_memstream(&out, &out_len);
    for (int guard = 0; guard < 1000; guard++) {
        EIN_YYSTYPE val;
        ein_loc loc;
        int tok = ein_yylex(&val, &loc, scanner);
        if (tok == END)
            break;
        char cbuf[8];
        fprintf(f, "%s%s", out_len || ftell(f) ? " " : "", token_name(tok, cbuf));
        if (tok == IDENT)
            fprintf(f, "(%s)", val.str);
        else if (tok == INT)
            fprintf(f, "(%lld)", val.expr->integer.value);
        else if (tok == REAL)
            fprintf(f, "(%g)", val.expr->real.value);
        else if (tok == STRING)
            fprintf(f, "(%s)", val.expr->string.text);
        fprintf(f, "@%d:%d-%d:%d", loc.line, loc.col, loc.end_line, loc.end_col);
    }
    fclose(f);
    ein_yy_delete_buffer(buf, scanner);
    ein_yylex_destroy(scanner);

    char *err = NULL;
    size_t err_len = 0;
    FILE *g = open_memstream(&err, &err_len);
    for (size_t i = 0; i < ein_diag_count(d); i++)
        ein_diag_print_head(d, i, g);
    fclose(g);
    *errors = err;
    free(st->comments);
    ein_program_free(st->prog);
    free(st);
    ein_diag_free(d);
    return out;
}

static const struct {
    const char *src;
    const char *tokens;
} cases[] = {
    { "width = 500", "IDENT(width)@1:1-1:6 =@1:7-1:8 INT(500)@1:9-1:12" },
    { "lr = 0.5 .5 1e-3 2.5E+4", "IDENT(lr)@1:1-1:3 =@1:4-1:5 REAL(0.5)@1:6-1:9 REAL(0.5)@1:10-1:12 REAL(0.001)@1:13-1:17 REAL(25000)@1:18-1:24" },
    { "1..5", "INT(1)@1:1-1:2 ..@1:2-1:4 INT(5)@1:4-1:5" },
    { "a.b.c", "IDENT(a)@1:1-1:2 .@1:2-1:3 IDENT(b)@1:3-1:4 .@1:4-1:5 IDENT(c)@1:5-1:6" },
    { "import \"ei\"\n", "import@1:1-1:7 STRING(ei)@1:8-1:12" },
    { "x = 1 # comment\ny = 2", "x@1:1-1:2 =@1:3-1:4 INT(1)@1:5-1:6 IDENT(y)@2:1-2:2 =@2:3-2:4 INT(2)@2:5-2:6" },
    { "/* a\n b */ z", "IDENT(z)@2:7-2:8" },
    { "a\r\nb\r\n", "IDENT(a)@1:1-1:2 IDENT(b)@2:1-2:2" },
    { "== != <= >= < > ^ % ~ :", "==@1:1-1:3 !=@1:4-1:6 <=@1:7-1:9 >=@1:10-1:12 <@1:13-1:14 >@1:15-1:16 ^@1:17-1:18 %@1:19-1:20 ~@1:21-1:22 :@1:23-1:24" },
    { "( [ { } ] )", "(@1:1-1:2 [@1:3-1:4 {@1:5-1:6 }@1:7-1:8 ]@1:9-1:10 )@1:11-1:12" },
    { "data network norm loss train grid report", "data@1:1-1:5 network@1:6-1:13 norm@1:14-1:18 loss@1:19-1:23 train@1:24-1:29 grid@1:30-1:34 report@1:35-1:41" },
    { "hidden x 2", "hidden@1:1-1:7 x@1:8-1:9 INT(2)@1:10-1:11" },
    { "xs x_ _x", "IDENT(xs)@1:1-1:3 IDENT(x_)@1:4-1:6 IDENT(_x)@1:7-1:9" },
    { "if c then a else b", "if@1:1-1:3 IDENT(c)@1:4-1:5 then@1:6-1:10 IDENT(a)@1:11-1:12 else@1:13-1:17 IDENT(b)@1:18-1:19" },
    { "\"a\\\"b\\\\c\\td\"", "STRING(a\"b\\c\td)@1:1-1:13" },
    { "s = \"h\xc3\xa9\" t", "IDENT(s)@1:1-1:2 =@1:3-1:4 STRING(h\xc3\xa9)@1:5-1:9 IDENT(t)@1:10-1:11" },
    { "# only a comment", "" },
    { "", "" },
    { "\t\tx", "x@1:3-1:4" },
};

START_TEST(tokens_and_locations)
{
    char *errors;
    char *got = lex(cases[_i].src, strlen(cases[_i].src), &errors);
    ck_assert_msg(strcmp(got, cases[_i].tokens) == 0, "input %d '%s':\n got  %s\n want %s", _i, cases[_i].src, got,
                  cases[_i].tokens);
    ck_assert_str_eq(errors, "");
    free(got);
    free(errors);
}
END_TEST

static const struct {
    const char *src;
    size_t len;            /* 0 = strlen */
    const char *tokens;
    const char *error;     /* first line */
} bad[] = {
    { "a @ b", 0, "IDENT(a)@1:1-1:2 IDENT(b)@1:5-1:6", "t.ein:1:3: error: unexpected character '@'\n" },
    { "a\0b", 3, "IDENT(a)@1:1-1:2 IDENT(b)@1:3-1:4", "t.ein:1:2: error: unexpected NUL byte\n" },
    { "x \xff y", 0, "x@1:1-1:2 IDENT(y)@1:5-1:6", "t.ein:1:3: error: invalid UTF-8 byte 0xff\n" },
    { "\"abc", 0, "STRING(abc)@1:1-1:5", "t.ein:1:1: error: unterminated string\n" },
    { "\"a\\zb\"", 0, "STRING(ab)@1:1-1:7", "t.ein:1:3: error: invalid escape '\\z' in string (use \\\" \\\\ \\n or \\t)\n" },
    { "1e999", 0, "REAL(0)@1:1-1:6", "t.ein:1:1: error: number '1e999' is out of range\n" },
    { "9223372036854775807 9223372036854775808", 0, "INT(9223372036854775807)@1:1-1:20 INT(0)@1:21-1:40",
      "t.ein:1:21: error: integer '9223372036854775808' is out of range (largest is 9223372036854775807)\n" },
    { "a /* b", 0, "IDENT(a)@1:1-1:2", "t.ein:1:3: error: unterminated comment\n" },
    { "# caf\xe9\n", 0, "", "t.ein:1:6: error: invalid UTF-8 byte 0xe9\n" },
    { "12ab", 0, "INT(0)@1:1-1:5", "t.ein:1:1: error: malformed number '12ab'\n" },
};

START_TEST(lexical_errors)
{
    char *errors;
    size_t len = bad[_i].len ? bad[_i].len : strlen(bad[_i].src);
    char *got = lex(bad[_i].src, len, &errors);
    ck_assert_msg(strcmp(got, bad[_i].tokens) == 0, "input %d:\n got  %s\n want %s", _i, got, bad[_i].tokens);
    ck_assert_str_eq(errors, bad[_i].error);
    free(got);
    free(errors);
}
END_TEST

/* A caret under a token after multi-byte characters lines up by character. */
START_TEST(columns_count_characters)
{
    char *errors;
    char *got = lex("s = \"\xc3\xa9\xc3\xa9\" @", strlen("s = \"\xc3\xa9\xc3\xa9\" @"), &errors);
    ck_assert_str_eq(errors, "t.ein:1:10: error: unexpected character '@'\n");
    free(got);
    free(errors);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("lexer");
    TCase *tc = tcase_create("tokens");
    tcase_add_loop_test(tc, tokens_and_locations, 0, (int)(sizeof cases / sizeof *cases));
    tcase_add_loop_test(tc, lexical_errors, 0, (int)(sizeof bad / sizeof *bad));
    tcase_add_test(tc, columns_count_characters);
    suite_add_tcase(s, tc);
    return s;
}
