/* check_smoke.c — the harness itself: error values and config defaults. */
#include <check.h>
#include <string.h>
#include "ein/err.h"
#include "ein/config.h"

START_TEST(err_keeps_first_cause)
{
    ein_err err = {0};
    ck_assert_int_eq(ein_err_set(&err, EIN_ERR_IO, "a.idx: %s", "short read"), EIN_ERR_IO);
    ein_err_set(&err, EIN_ERR_DATA, "later");
    ein_err_prefix(&err, "cell %d", 3);
    ck_assert_str_eq(err.msg, "cell 3: a.idx: short read");
    ck_assert_int_eq(ein_exit_status(err.code), 74);
}
END_TEST

START_TEST(config_defaults_follow_model_md)
{
    ein_cell_config cfg;
    ein_config_defaults(&cfg);
    cfg.hidden[0].fwd = EIN_FWD_INORM_SUB;
    cfg.losses[cfg.n_losses++] = (ein_loss_config){ .kind = EIN_LOSS_INORM, .weight = -1 };
    ein_config_resolve(&cfg);
    ck_assert_int_eq(cfg.hidden[0].ni, 50);
    ck_assert_int_eq(cfg.output.ni, 1);
    ck_assert(cfg.losses[1].weight == 0.001);
    ck_assert_uint_eq(cfg.hidden[0].inhib_learn, (1u << EIN_GROUP_WIX) | (1u << EIN_GROUP_WEI));
    ck_assert_int_eq(ein_bwd_norm_parse("fa_center"), EIN_BWD_FA_CENTER);
    ck_assert_int_eq(ein_bwd_norm_parse("fa-center"), -1);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("smoke");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, err_keeps_first_cause);
    tcase_add_test(tc, config_defaults_follow_model_md);
    suite_add_tcase(s, tc);
    return s;
}
