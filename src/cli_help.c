/* cli_help.c — `einrun help [TOPIC]`: references generated from the tables
 * the program itself runs on (the settings schema, the name tables), so
 * they cannot drift from what the checker accepts. */
#include "ein/cli.h"

#include <stdio.h>
#include <string.h>

#include "ein/names.h"
#include "ein/schema.h"

void ein_cli_usage(FILE *out)
{
    fputs("usage: einrun                        the REPL (docs/repl.md)\n"
          "       einrun -i FILE.ein            the REPL with FILE loaded\n"
          "       einrun FILE.ein [options]     run every cell of the file's grid\n"
          "       einrun --check FILE...        parse and check only\n"
          "       einrun fmt FILE               print FILE in canonical layout\n"
          "       einrun summary RESULTS_DIR... summarize finished cells (--by, --metric, --compare)\n"
          "       einrun plot FILE.ein | DIR... draw figures with gnuplot\n"
          "       einrun eval DIR --cell ID     reopen a saved cell: evaluate or train on\n"
          "       einrun help [TOPIC]           settings, norms, groups, metrics (generated references)\n"
          "       einrun status RESULTS_DIR     how far the writers of a results folder are\n"
          "       einrun --help | --version\n"
          "\n"
          "Run `einrun FILE.ein --help` for the options of a run.\n", out);
}

static void print_names(FILE *out, const ein_names *t)
{
    fprintf(out, "%ss:\n", t->what);
    for (int i = 0; i < t->n; i++)
        fprintf(out, "  %-14s %s\n", t->v[i].name, t->v[i].doc);
}

static const struct { const char *topic; const ein_names *names; } name_topics[] = {
    { "norms", &ein_fwd_norm_names }, { "norms", &ein_bwd_norm_names },
    { "groups", &ein_group_names }, { "optimizers", &ein_optimizer_names },
    { "metrics", &ein_metric_names }, { "statuses", &ein_cell_status_names },
    { "distributions", &ein_dist_names },
};
#define N_NAME_TOPICS (sizeof name_topics / sizeof name_topics[0])

static void help_usage(FILE *out)
{
    fputs("usage: einrun help TOPIC\n"
          "\n"
          "  settings [PATH]   every setting: path, type and range, default, where it applies\n"
          "                    (PATH, or a part of one such as 'train.' or 'lr', narrows it;\n"
          "                    --markdown: the table of docs/language.md)\n"
          "  norms             forward and backward normalizations (M3, M4, M6)\n"
          "  groups            parameter groups and sets (M8)\n"
          "  optimizers, metrics, statuses, distributions\n", out);
}

int ein_cli_help(int argc, char **argv)
{
    if (argc < 2) {
        help_usage(stdout);
        return 0;
    }
    const char *topic = argv[1];
    if (!strcmp(topic, "settings")) {
        const char *only = argc > 2 ? argv[2] : NULL;
        if (only && !strcmp(only, "--markdown")) {
            ein_schema_print_markdown(stdout);
            return 0;
        }
        if (ein_schema_print(stdout, only) == 0) {
            fprintf(stderr, "einrun: no setting path contains '%s' (einrun help settings lists them)\n", only);
            return 64;
        }
        return 0;
    }
    bool any = false;
    for (size_t i = 0; i < N_NAME_TOPICS; i++)
        if (!strcmp(name_topics[i].topic, topic)) {
            if (any)
                fputc('\n', stdout);
            print_names(stdout, name_topics[i].names);
            any = true;
        }
    if (any)
        return 0;
    fprintf(stderr, "einrun: no help topic '%s'\n", topic);
    help_usage(stderr);
    return 64;
}
