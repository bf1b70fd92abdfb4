/* module.c — reading a checked module (include/ein/module.h). */
#include "ein/module.h"

#include <stdlib.h>
#include <string.h>

#include "ein/parse.h"

ein_scope *ein_module_globals(const ein_module *m, ein_eval *ev)
{
    ein_scope *g = ein_scope_new(ev, NULL);
    if (!g)
        return NULL;
    for (int k = 0; k <= m->n_programs; k++) {
        const ein_program *p = k < m->n_programs ? m->programs[k] : m->root;
        for (int i = 0; i < p->n_stmts; i++) {
            const ein_stmt *s = p->stmts[i];
            bool ok = true;
            if (s->kind == EIN_STMT_BIND)
                ok = ein_scope_add_lazy(ev, g, s->bind.name.name, s->bind.name.loc, s->bind.value);
            else if (s->kind == EIN_STMT_DEF)
                ok = ein_scope_add_def(ev, g, s);
            if (!ok)
                return NULL;
        }
    }
    return g;
}

int ein_module_experiments(const ein_module *m, const ein_stmt **out, int max)
{
    int n = 0;
    for (int i = 0; i < m->root->n_stmts; i++)
        if (m->root->stmts[i]->kind == EIN_STMT_EXPERIMENT) {
            if (n < max)
                out[n] = m->root->stmts[i];
            n++;
        }
    return n;
}

const ein_stmt *ein_module_experiment(const ein_module *m, const char *name)
{
    for (int i = 0; i < m->root->n_stmts; i++) {
        const ein_stmt *s = m->root->stmts[i];
        if (s->kind == EIN_STMT_EXPERIMENT && !strcmp(s->experiment.name.name, name))
            return s;
    }
    return NULL;
}

void ein_module_free(ein_module *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->n_programs; i++)
        ein_program_free(m->programs[i]);
    free(m->programs);
    if (m->owns_root)
        ein_program_free(m->root);
    free(m);
}

