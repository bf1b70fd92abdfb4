/* rng.c — xoshiro256** with splitmix64 seeding (see include/ein/rng.h). */
#include "ein/rng.h"

#include <math.h>

/* splitmix64 step (Steele, Lea & Flood 2014): the seeding recommended by the
 * xoshiro authors, because it turns any 64-bit value, even 0, into
 * well-mixed state words.  Kept static: grid.c exports its own splitmix64
 * for the sample axes, and the two must not be coupled. */
static uint64_t splitmix_next(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

void ein_rng_init(ein_rng *r, uint64_t seed, uint64_t stream)
{
    /* Mix the seed first, then offset by the mixed stream and mix again, so
     * that neighbouring seeds and neighbouring streams land far apart. */
    uint64_t x = seed;
    uint64_t a = splitmix_next(&x);
    uint64_t y = stream ^ 0x6a09e667f3bcc909ull;
    uint64_t b = splitmix_next(&y);
    uint64_t start = a ^ rotl(b, 23);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix_next(&start);
    if ((r->s[0] | r->s[1] | r->s[2] | r->s[3]) == 0)   /* the one forbidden state */
        r->s[0] = 1;
    r->spare = 0.0;
    r->has_spare = 0;
}

uint64_t ein_rng_u64(ein_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

double ein_rng_uniform(ein_rng *r)
{
    /* The top 53 bits: the ** scrambler's high bits are its best. */
    return (double)(ein_rng_u64(r) >> 11) * 0x1.0p-53;
}

double ein_rng_uniform_range(ein_rng *r, double a, double b)
{
    if (!(a < b))
        return a;
    double x = a + (b - a) * ein_rng_uniform(r);
    /* a + (b-a)·u can round up to b for u close to 1; the interval is half-open. */
    if (x >= b)
        x = nextafter(b, a);
    return x;
}

double ein_rng_normal(ein_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    /* Box–Muller; 1 − u ∈ (0, 1] keeps log away from 0. */
    double u1 = 1.0 - ein_rng_uniform(r);
    double u2 = ein_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1));
    double th = 6.283185307179586476925 * u2;
    r->spare = rad * sin(th);
    r->has_spare = 1;
    return rad * cos(th);
}

double ein_rng_lognormal(ein_rng *r, double mu, double sigma)
{
    return exp(mu + sigma * ein_rng_normal(r));
}

double ein_rng_exponential(ein_rng *r, double rate)
{
    /* Inversion with 1 − u ∈ (0, 1]: finite for every draw. */
    return -log(1.0 - ein_rng_uniform(r)) / rate;
}

uint64_t ein_rng_below(ein_rng *r, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Reject the lowest 2^64 mod n values so that every residue is hit by
     * exactly floor(2^64 / n) accepted draws.  (-n) % n == 2^64 mod n. */
    uint64_t threshold = (0 - n) % n;
    for (;;) {
        uint64_t x = ein_rng_u64(r);
        if (x >= threshold)
            return x % n;
    }
}

void ein_rng_shuffle(ein_rng *r, int32_t *a, long n)
{
    for (long i = n - 1; i > 0; i--) {
        long j = (long)ein_rng_below(r, (uint64_t)i + 1);
        int32_t t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void ein_rng_permutation(ein_rng *r, int32_t *perm, long n)
{
    for (long i = 0; i < n; i++)
        perm[i] = (int32_t)i;
    ein_rng_shuffle(r, perm, n);
}
