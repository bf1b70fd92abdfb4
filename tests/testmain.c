/* testmain.c — main() shared by every Check suite: each tests/check_*.c defines
 * ein_test_suite(); this runs it and prints Check's summary line. */
#include <check.h>
#include <stdlib.h>

Suite *ein_test_suite(void);

int main(void)
{
    SRunner *runner = srunner_create(ein_test_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
