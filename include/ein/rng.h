/* rng.h — the one random number generator of ein.
 *
 * xoshiro256** (Blackman & Vigna 2018), 256 bits of state, seeded through
 * splitmix64 from a (seed, stream) pair.  A cell's seed (config.h,
 * train.seed) is combined with a purpose (ein_stream) so that weight init,
 * shuffling and the M7 luminosity shift each draw from their own sequence:
 * turning shuffling on does not change the initial weights, and a cell's
 * numbers never depend on how many other cells run beside it, because no
 * state is shared — an ein_rng is a plain value the caller owns (on the
 * stack or inside its own struct), nothing to free, and it must not be used
 * from two threads at once.
 *
 * Sequences are part of reproducibility: the same (seed, stream) gives the
 * same draws on every platform (integer arithmetic only, except for the
 * libm calls of the normal, lognormal and exponential transforms).
 */
#ifndef EIN_RNG_H
#define EIN_RNG_H

#include <stdint.h>

typedef struct ein_rng {
    uint64_t s[4];      /* xoshiro256** state, never all zero */
    double spare;       /* second normal of the last Box–Muller pair */
    int has_spare;
} ein_rng;

/* Purposes.  Values are fixed forever: changing one changes every result. */
typedef enum ein_stream {
    EIN_STREAM_INIT = 1,    /* weight initialisation (model.md M2, M4) */
    EIN_STREAM_SHUFFLE = 2, /* per-epoch order of the training set (M7) */
    EIN_STREAM_SHIFT = 3,   /* luminosity shift Δ of training images (M7) */
    EIN_STREAM_EVAL = 4,    /* luminosity shift Δ of test images during evaluation (M7) */
    EIN_STREAM_FA = 5       /* fixed random feedback matrices (M6 fa_center) */
} ein_stream;

/* A sub-stream of a purpose, e.g. one per layer: EIN_STREAM_SUB(EIN_STREAM_INIT, 2).
 * k ≥ 0; sub-stream k never equals the purpose's own stream. */
#define EIN_STREAM_SUB(stream, k) \
    ((uint64_t)(stream) | (((uint64_t)(k) + 1u) << 32))

/* Seed `r` for (seed, stream).  Different pairs give unrelated sequences. */
void ein_rng_init(ein_rng *r, uint64_t seed, uint64_t stream);

/* Next 64 random bits. */
uint64_t ein_rng_u64(ein_rng *r);

/* Uniform double in [0, 1), 53 random bits (multiples of 2^-53). */
double ein_rng_uniform(ein_rng *r);

/* Uniform double in [a, b) for a < b (never returns b, even after rounding);
 * returns a when a == b. */
double ein_rng_uniform_range(ein_rng *r, double a, double b);

/* Standard normal N(0, 1) (Box–Muller; pairs are used in order). */
double ein_rng_normal(ein_rng *r);

/* exp(mu + sigma·N(0,1)): mean exp(mu + sigma²/2). */
double ein_rng_lognormal(ein_rng *r, double mu, double sigma);

/* Exponential with the given rate > 0 (mean 1/rate). */
double ein_rng_exponential(ein_rng *r, double rate);

/* Uniform integer in [0, n), without modulo bias; 0 when n == 0. */
uint64_t ein_rng_below(ein_rng *r, uint64_t n);

/* Shuffle a[0..n) in place (Fisher–Yates), every permutation equally likely. */
void ein_rng_shuffle(ein_rng *r, int32_t *a, long n);

/* perm[0..n) = a uniformly random permutation of 0..n-1 (n ≤ INT32_MAX). */
void ein_rng_permutation(ein_rng *r, int32_t *perm, long n);

#endif
