/* check_rng.c — the generator (rng.h): reference output, determinism,
 * independent streams, moments of every distribution, permutations. */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "ein/rng.h"

#define N 100000

/* Published xoshiro256** output for the state {1, 2, 3, 4} (the reference
 * test vector, as in Rust's rand_xoshiro). */
START_TEST(xoshiro_reference_vector)
{
    static const uint64_t want[10] = {
        11520ull, 0ull, 1509978240ull, 1215971899390074240ull,
        1216172134540287360ull, 607988272756665600ull, 16172922978634559625ull,
        8476171486693032832ull, 10595114339597558777ull, 2904607092377533576ull,
    };
    ein_rng r;
    ein_rng_init(&r, 0, 0);
    r.s[0] = 1; r.s[1] = 2; r.s[2] = 3; r.s[3] = 4;
    for (int i = 0; i < 10; i++)
        ck_assert_uint_eq(ein_rng_u64(&r), want[i]);
}
END_TEST

START_TEST(same_seed_same_sequence)
{
    ein_rng a, b, c;
    ein_rng_init(&a, 42, EIN_STREAM_INIT);
    ein_rng_init(&b, 42, EIN_STREAM_INIT);
    ein_rng_init(&c, 43, EIN_STREAM_INIT);
    int differ = 0;
    for (int i = 0; i < 1000; i++) {
        ck_assert(ein_rng_normal(&a) == ein_rng_normal(&b));
        uint64_t x = ein_rng_u64(&a);
        ck_assert_uint_eq(x, ein_rng_u64(&b));
        differ += x != ein_rng_u64(&c);
    }
    ck_assert_int_eq(differ, 1000);
    /* Seed 0, stream 0 is a valid, non-degenerate generator. */
    ein_rng z;
    ein_rng_init(&z, 0, 0);
    ck_assert(z.s[0] | z.s[1] | z.s[2] | z.s[3]);
    ck_assert_uint_ne(ein_rng_u64(&z), ein_rng_u64(&z));
}
END_TEST

static double correlation(const double *x, const double *y, int n)
{
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) { mx += x[i]; my += y[i]; }
    mx /= n; my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxy / sqrt(sxx * syy);
}

/* Streams of one seed, and the same stream of neighbouring seeds, are
 * uncorrelated (|r| < 0.015, about 5 standard errors at n = 1e5) and never
 * agree on a 64-bit draw. */
START_TEST(streams_are_independent)
{
    const uint64_t streams[] = {
        EIN_STREAM_INIT, EIN_STREAM_SHUFFLE, EIN_STREAM_SHIFT, EIN_STREAM_EVAL,
        EIN_STREAM_FA, EIN_STREAM_SUB(EIN_STREAM_INIT, 0), EIN_STREAM_SUB(EIN_STREAM_INIT, 1),
    };
    const int ns = (int)(sizeof streams / sizeof streams[0]);
    double *u = malloc(sizeof(double) * N * (ns + 1));
    for (int k = 0; k <= ns; k++) {
        ein_rng r;
        /* the last row: the first stream under the neighbouring seed */
        ein_rng_init(&r, k < ns ? 7 : 8, k < ns ? streams[k] : streams[0]);
        for (int i = 0; i < N; i++)
            u[(size_t)k * N + i] = ein_rng_uniform(&r);
    }
    for (int a = 0; a <= ns; a++)
        for (int b = a + 1; b <= ns; b++) {
            double c = correlation(u + (size_t)a * N, u + (size_t)b * N, N);
            ck_assert_msg(fabs(c) < 0.015, "streams %d and %d correlate: %g", a, b, c);
            int same = 0;
            for (int i = 0; i < 1000; i++)
                same += u[(size_t)a * N + i] == u[(size_t)b * N + i];
            ck_assert_int_eq(same, 0);
        }
    /* Lag-1 autocorrelation within a stream. */
    ck_assert(fabs(correlation(u, u + 1, N - 1)) < 0.015);
    free(u);
}
END_TEST

typedef struct moments { double mean, var, skew, kurt, min, max; } moments;

static moments moments_of(const double *x, int n)
{
    moments m = { 0, 0, 0, 0, INFINITY, -INFINITY };
    for (int i = 0; i < n; i++) {
        m.mean += x[i];
        if (x[i] < m.min) m.min = x[i];
        if (x[i] > m.max) m.max = x[i];
    }
    m.mean /= n;
    double m2 = 0, m3 = 0, m4 = 0;
    for (int i = 0; i < n; i++) {
        double d = x[i] - m.mean;
        m2 += d * d; m3 += d * d * d; m4 += d * d * d * d;
    }
    m2 /= n; m3 /= n; m4 /= n;
    m.var = m2;
    m.skew = m3 / pow(m2, 1.5);
    m.kurt = m4 / (m2 * m2);
    return m;
}

START_TEST(uniform_moments)
{
    static double x[N];
    ein_rng r;
    ein_rng_init(&r, 1, EIN_STREAM_SHIFT);
    for (int i = 0; i < N; i++)
        x[i] = ein_rng_uniform(&r);
    moments m = moments_of(x, N);
    ck_assert(m.min >= 0.0 && m.max < 1.0);
    ck_assert_msg(fabs(m.mean - 0.5) < 0.005, "mean %g", m.mean);
    ck_assert_msg(fabs(m.var - 1.0 / 12) < 0.002, "var %g", m.var);
    ck_assert_msg(fabs(m.kurt - 1.8) < 0.03, "kurtosis %g", m.kurt);   /* flat, not bell */
    /* every draw is a multiple of 2^-53 */
    ck_assert(x[0] * 0x1.0p53 == floor(x[0] * 0x1.0p53));

    for (int i = 0; i < N; i++)
        x[i] = ein_rng_uniform_range(&r, -0.25, 0.25);
    m = moments_of(x, N);
    ck_assert(m.min >= -0.25 && m.max < 0.25);
    ck_assert_msg(fabs(m.mean) < 0.0025, "mean %g", m.mean);
    ck_assert_msg(fabs(m.var - 0.25 / 12) < 0.0005, "var %g", m.var);
    ck_assert(m.max > 0.249 && m.min < -0.249);
    ck_assert(ein_rng_uniform_range(&r, 3.0, 3.0) == 3.0);
}
END_TEST

/* [a, b) even when a + (b−a)·u rounds to b: here b is one ulp above a, so
 * about half of the raw products round up to b. */
START_TEST(uniform_range_is_half_open)
{
    ein_rng r;
    ein_rng_init(&r, 5, 0);
    double a = 1.0, b = nextafter(1.0, 2.0);
    for (int i = 0; i < 1000; i++)
        ck_assert(ein_rng_uniform_range(&r, a, b) == a);
}
END_TEST

START_TEST(normal_moments)
{
    static double x[N];
    ein_rng r;
    ein_rng_init(&r, 2, EIN_STREAM_INIT);
    int within1 = 0;
    for (int i = 0; i < N; i++) {
        x[i] = ein_rng_normal(&r);
        within1 += fabs(x[i]) < 1.0;
    }
    moments m = moments_of(x, N);
    ck_assert_msg(fabs(m.mean) < 0.015, "mean %g", m.mean);
    ck_assert_msg(fabs(m.var - 1.0) < 0.03, "var %g", m.var);
    ck_assert_msg(fabs(m.skew) < 0.04, "skew %g", m.skew);
    ck_assert_msg(fabs(m.kurt - 3.0) < 0.08, "kurtosis %g", m.kurt);
    ck_assert_msg(fabs(within1 / (double)N - 0.682689) < 0.0075, "P(|x|<1) = %g", within1 / (double)N);
    ck_assert(isfinite(m.min) && isfinite(m.max));
    /* both halves of each Box–Muller pair are used, and they are independent */
    double c = correlation(x, x + 1, N - 1);
    ck_assert_msg(fabs(c) < 0.015, "lag-1 correlation %g", c);
    int equal = 0;
    for (int i = 0; i + 1 < N; i++)
        equal += x[i] == x[i + 1];
    ck_assert_int_eq(equal, 0);
}
END_TEST

/* M2's lognormal: underlying μ = ln(s/√2), σ = √ln 2 has mean s and variance s². */
START_TEST(lognormal_moments)
{
    static double x[N];
    ein_rng r;
    ein_rng_init(&r, 3, EIN_STREAM_INIT);
    double s = 0.0505;
    for (int i = 0; i < N; i++)
        x[i] = ein_rng_lognormal(&r, log(s / sqrt(2.0)), sqrt(log(2.0)));
    moments m = moments_of(x, N);
    ck_assert(m.min > 0.0);
    ck_assert_msg(fabs(m.mean / s - 1.0) < 0.015, "mean %g, want %g", m.mean, s);
    ck_assert_msg(fabs(m.var / (s * s) - 1.0) < 0.1, "var %g, want %g", m.var, s * s);
    /* median exp(μ) = s/√2 */
    int below = 0;
    for (int i = 0; i < N; i++)
        below += x[i] < s / sqrt(2.0);
    ck_assert_msg(fabs(below / (double)N - 0.5) < 0.008, "median fraction %g", below / (double)N);
}
END_TEST

START_TEST(exponential_moments)
{
    static double x[N];
    ein_rng r;
    ein_rng_init(&r, 4, EIN_STREAM_INIT);
    for (int i = 0; i < N; i++)
        x[i] = ein_rng_exponential(&r, 2.0);
    moments m = moments_of(x, N);
    ck_assert(m.min >= 0.0 && isfinite(m.max));
    ck_assert_msg(fabs(m.mean - 0.5) < 0.008, "mean %g", m.mean);
    ck_assert_msg(fabs(m.var - 0.25) < 0.01, "var %g", m.var);
    ck_assert_msg(fabs(m.skew - 2.0) < 0.15, "skew %g", m.skew);
}
END_TEST

START_TEST(below_is_unbiased)
{
    ein_rng r;
    ein_rng_init(&r, 9, EIN_STREAM_SHUFFLE);
    ck_assert_uint_eq(ein_rng_below(&r, 0), 0);
    ck_assert_uint_eq(ein_rng_below(&r, 1), 0);
    /* chi-square over 10 bins, 9 degrees of freedom: 99.99 % quantile ≈ 33.7 */
    /* (assertions counted, not made per draw: each Check assertion is a pipe write) */
    long count[11] = {0};
    for (int i = 0; i < N; i++) {
        uint64_t v = ein_rng_below(&r, 10);
        count[v < 10 ? v : 10]++;
    }
    ck_assert_int_eq(count[10], 0);
    double chi2 = 0;
    for (int k = 0; k < 10; k++)
        chi2 += (count[k] - N / 10.0) * (count[k] - N / 10.0) / (N / 10.0);
    ck_assert_msg(chi2 < 33.7, "chi2 %g", chi2);
    /* n = 3·2^62: plain x % n would put half the draws below 2^62, not a third. */
    uint64_t n = 3ull << 62;
    int low = 0, out = 0;
    for (int i = 0; i < N; i++) {
        uint64_t v = ein_rng_below(&r, n);
        out += v >= n;
        low += v < (1ull << 62);
    }
    ck_assert_int_eq(out, 0);
    ck_assert_msg(fabs(low / (double)N - 1.0 / 3) < 0.008, "fraction below 2^62: %g", low / (double)N);
}
END_TEST

START_TEST(permutation_is_valid)
{
    ein_rng r;
    ein_rng_init(&r, 11, EIN_STREAM_SHUFFLE);
    enum { M = 1000 };
    int32_t p[M];
    char seen[M];
    ein_rng_permutation(&r, p, M);
    memset(seen, 0, sizeof seen);
    int fixed = 0;
    for (int i = 0; i < M; i++) {
        ck_assert(p[i] >= 0 && p[i] < M);
        ck_assert_msg(!seen[p[i]], "%d appears twice", p[i]);
        seen[p[i]] = 1;
        fixed += p[i] == i;
    }
    ck_assert_int_lt(fixed, 10);   /* a random permutation has ~1 fixed point */
    ein_rng_permutation(&r, p, 0);
    ein_rng_permutation(&r, p, 1);
    ck_assert_int_eq(p[0], 0);

    /* Every one of the 6 permutations of 3 elements about equally often:
     * chi-square, 5 degrees of freedom, 99.99 % quantile ≈ 25.7. */
    long count[7] = {0};
    const int reps = 60000;
    for (int k = 0; k < reps; k++) {
        int32_t q[3];
        ein_rng_permutation(&r, q, 3);
        int code = q[0] * 9 + q[1] * 3 + q[2];
        static const int codes[6] = { 5, 7, 11, 15, 19, 21 };   /* 012 021 102 120 201 210 */
        int idx = 6;   /* not a permutation */
        for (int j = 0; j < 6; j++)
            if (codes[j] == code)
                idx = j;
        count[idx]++;
    }
    ck_assert_int_eq(count[6], 0);
    double chi2 = 0;
    for (int j = 0; j < 6; j++)
        chi2 += (count[j] - reps / 6.0) * (count[j] - reps / 6.0) / (reps / 6.0);
    ck_assert_msg(chi2 < 25.7, "chi2 %g", chi2);

    /* shuffle permutes what is there */
    int32_t v[5] = { 10, 20, 30, 40, 50 };
    ein_rng_shuffle(&r, v, 5);
    int sum = 0;
    for (int i = 0; i < 5; i++)
        sum += v[i];
    ck_assert_int_eq(sum, 150);
}
END_TEST

Suite *ein_test_suite(void)
{
    Suite *s = suite_create("rng");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, xoshiro_reference_vector);
    tcase_add_test(tc, same_seed_same_sequence);
    tcase_add_test(tc, streams_are_independent);
    tcase_add_test(tc, uniform_moments);
    tcase_add_test(tc, uniform_range_is_half_open);
    tcase_add_test(tc, normal_moments);
    tcase_add_test(tc, lognormal_moments);
    tcase_add_test(tc, exponential_moments);
    tcase_add_test(tc, below_is_unbiased);
    tcase_add_test(tc, permutation_is_valid);
    suite_add_tcase(s, tc);
    return s;
}
