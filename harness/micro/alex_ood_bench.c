/* alex_ood_bench.c - the cost of out-of-domain inserts into a big ALEX: bulk load N keys spread
 * over [0, N * 1e6), then M inserts running away to the right (each 0.5% past the last), which
 * grow the root's key domain again and again; CPU ns per such insert, and the tree's shape.
 * Usage: alex_ood_bench [N=2000000] [M=3000] [max_data_node_slots=1024] (small leaves = many leaves,
 * which is where a repair that walks every leaf after each growth hurt). */
#include "alex_index.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double ob_cpu(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 2000000, m = argc > 2 ? strtoull(argv[2], NULL, 10) : 3000;
    alex_params pp;
    alex_params_default(&pp);
    pp.max_data_node_slots = argc > 3 ? strtoull(argv[3], NULL, 10) : 1024;
    int64_t *k = malloc(n * sizeof(*k));
    uint64_t *p = malloc(n * sizeof(*p)), s = 1;
    alex_index *ix;
    if (!k || !p || n < 2 || alex_create(&ix, &pp) != ALEX_OK) {
        fprintf(stderr, "alex_ood_bench: bad arguments or out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        k[i] = (int64_t)(i * 1000000ull + (s >> 44) % 1000);
        p[i] = i;
    }
    if (alex_bulk_load(ix, k, p, n) != ALEX_OK)
        return 1;
    double t = ob_cpu();
    int64_t key = k[n - 1];
    for (size_t j = 0; j < m; j++) {
        key += key / 200;
        if (alex_insert(ix, key, j) != ALEX_OK)
            return 1;
    }
    t = ob_cpu() - t;
    alex_stats st;
    alex_get_stats(ix, &st);
    printf("%llu leaves, %zu out-of-domain inserts: %.0f ns each; %llu root expansions, depth %llu\n",
           (unsigned long long)st.num_data_nodes, m, t * 1e9 / (double)m, (unsigned long long)st.num_root_expansions,
           (unsigned long long)st.max_depth);
    alex_destroy(ix);
    free(k);
    free(p);
    return 0;
}
