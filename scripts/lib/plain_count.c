/*
 * The release benchmark's lower peer: a plain counting loop over integer ids held in memory.
 *
 * Loads the bench's CSV export (not timed), groups signals by person with a counting sort,
 * then times only the counting of the release's exact counts with the same contribution
 * bounds as the daemon (top P partners by summed weight, top L items per partner; ties to the
 * lower id), on T threads with one accumulator each, merged at the end: N_AB, n_X|AB, n_XY
 * and each partner's own cells. Prints the released-pair count and the sum of their n_XY (all
 * four counts >= k) so the bench can check it counted the same thing, and the run times.
 *
 * usage: plain_count WORKDIR K ITEMS_PER_PARTNER PARTNERS_PER_PERSON THREADS RUNS
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int items_count, partners_count, L, P;
static int32_t *item_partner;      /* item -> partner index */
static int64_t *start;             /* person -> first entry */
static int32_t *entry_item;
static double *entry_weight;
static int64_t persons;

typedef struct {
    int64_t from, to;
    uint32_t *pairs;               /* items x items, x < y */
    int64_t *within;               /* items x partners */
    int64_t *overlap;              /* partners x partners */
    int64_t *own_items, *own_persons;
} worker_t;

static FILE *open_csv(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *file = fopen(path, "r");
    if (!file) { perror(path); exit(1); }
    char line[4096];
    if (!fgets(line, sizeof line, file)) exit(1); /* header */
    return file;
}

static double now_seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

/* Top `limit` of idx[0..n) by weight desc, then item asc; result sorted by item. */
static int top_items(int *idx, int n, const int32_t *item, const double *weight, int limit, int *out) {
    int kept = 0;
    char chosen[256] = {0};
    if (n <= limit) { for (int i = 0; i < n; i++) out[kept++] = idx[i]; return kept; }
    for (int round = 0; round < limit; round++) {
        int best = -1;
        for (int i = 0; i < n; i++) {
            if (chosen[i]) continue;
            if (best < 0 || weight[idx[i]] > weight[idx[best]] ||
                (weight[idx[i]] == weight[idx[best]] && item[idx[i]] < item[idx[best]])) best = i;
        }
        chosen[best] = 1;
    }
    for (int i = 0; i < n; i++) if (chosen[i]) out[kept++] = idx[i];
    return kept;
}

static void *count_range(void *argument) {
    worker_t *w = argument;
    int32_t item[256]; double weight[256]; int32_t partner[256];
    int group_lo[64], group_hi[64], group_partner[64]; double group_total[64];
    for (int64_t p = w->from; p < w->to; p++) {
        int n = 0;
        for (int64_t e = start[p]; e < start[p + 1] && n < 256; e++) {
            int32_t it = entry_item[e]; double wt = entry_weight[e];
            int at = n++;
            while (at > 0 && item[at - 1] > it) { item[at] = item[at - 1]; weight[at] = weight[at - 1]; at--; }
            item[at] = it; weight[at] = wt;
        }
        if (n == 0) continue;
        int d = 0;
        for (int i = 0; i < n; i++) {
            if (d > 0 && item[d - 1] == item[i]) weight[d - 1] += weight[i];
            else { item[d] = item[i]; weight[d] = weight[i]; d++; }
        }
        int groups = 0;
        for (int i = 0; i < d; i++) {
            partner[i] = item_partner[item[i]];
            if (groups > 0 && group_partner[groups - 1] == partner[i]) { group_hi[groups - 1] = i + 1; group_total[groups - 1] += weight[i]; }
            else { group_partner[groups] = partner[i]; group_lo[groups] = i; group_hi[groups] = i + 1; group_total[groups] = weight[i]; groups++; }
        }
        int idx[256], own[64];
        /* own cells */
        for (int g = 0; g < groups; g++) {
            int m = 0;
            for (int i = group_lo[g]; i < group_hi[g]; i++) idx[m++] = i;
            int k = top_items(idx, m, item, weight, L, own);
            w->own_persons[group_partner[g]]++;
            for (int i = 0; i < k; i++) {
                w->own_items[item[own[i]]]++;
                for (int j = i + 1; j < k; j++) w->pairs[(int64_t)item[own[i]] * items_count + item[own[j]]]++;
            }
        }
        /* kept partners */
        char kept_group[64] = {0};
        int kept_groups = 0;
        if (groups <= P) { for (int g = 0; g < groups; g++) kept_group[g] = 1; kept_groups = groups; }
        else {
            for (int round = 0; round < P; round++) {
                int best = -1;
                for (int g = 0; g < groups; g++) {
                    if (kept_group[g]) continue;
                    if (best < 0 || group_total[g] > group_total[best] ||
                        (group_total[g] == group_total[best] && group_partner[g] < group_partner[best])) best = g;
                }
                kept_group[best] = 1;
            }
            kept_groups = P;
        }
        if (kept_groups < 2) continue;
        int kept_item[256], kept_partner_of[256], kept = 0, kept_partners[64], kp = 0;
        for (int g = 0; g < groups; g++) {
            if (!kept_group[g]) continue;
            kept_partners[kp++] = group_partner[g];
            int m = 0;
            for (int i = group_lo[g]; i < group_hi[g]; i++) idx[m++] = i;
            int k = top_items(idx, m, item, weight, L, own);
            for (int i = 0; i < k; i++) { kept_item[kept] = item[own[i]]; kept_partner_of[kept] = group_partner[g]; kept++; }
        }
        for (int a = 0; a < kp; a++)
            for (int b = a + 1; b < kp; b++) w->overlap[kept_partners[a] * partners_count + kept_partners[b]]++;
        for (int x = 0; x < kept; x++) {
            for (int b = 0; b < kp; b++)
                if (kept_partners[b] != kept_partner_of[x]) w->within[(int64_t)kept_item[x] * partners_count + kept_partners[b]]++;
            for (int y = x + 1; y < kept; y++)
                if (kept_partner_of[y] != kept_partner_of[x]) w->pairs[(int64_t)kept_item[x] * items_count + kept_item[y]]++;
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 7) { fprintf(stderr, "usage: %s WORKDIR K L P THREADS RUNS\n", argv[0]); return 2; }
    const char *dir = argv[1];
    int64_t k = atoll(argv[2]);
    L = atoi(argv[3]); P = atoi(argv[4]);
    int threads = atoi(argv[5]), runs = atoi(argv[6]);
    /* partners by id, categories by (partner, id) -> items */
    FILE *f = open_csv(dir, "partner.csv");
    int64_t partner_ids[64]; char slug[256];
    while (fscanf(f, "%lld,%255[^\n]\n", (long long *)&partner_ids[partners_count], slug) == 2) partners_count++;
    fclose(f);
    f = open_csv(dir, "category.csv");
    int64_t cap = 1 << 16, n_cat = 0, *cat_id = malloc(cap * 8), *cat_partner = malloc(cap * 8);
    char name[1024];
    while (fscanf(f, "%lld,%lld,%1023[^\n]\n", (long long *)&cat_id[n_cat], (long long *)&cat_partner[n_cat], name) == 3) n_cat++;
    fclose(f);
    int64_t max_cat = 0;
    for (int64_t i = 0; i < n_cat; i++) if (cat_id[i] > max_cat) max_cat = cat_id[i];
    int32_t *item_of = malloc((max_cat + 1) * 4);
    item_partner = malloc(n_cat * 4);
    for (int pi = 0; pi < partners_count; pi++) {
        /* categories of this partner in id order */
        for (int64_t id = 0; id <= max_cat; id++) {
            for (int64_t i = 0; i < n_cat; i++) {
                if (cat_id[i] == id && cat_partner[i] == partner_ids[pi]) { item_of[id] = items_count; item_partner[items_count++] = pi; }
            }
        }
    }
    /* signals */
    f = open_csv(dir, "signal.csv");
    int64_t scap = 1 << 20, ns = 0;
    int64_t *sp = malloc(scap * 8); int32_t *si = malloc(scap * 4); double *sw = malloc(scap * 8);
    long long a, b, c; double wt;
    int64_t max_person = 0;
    while (fscanf(f, "%lld,%lld,%lld,%lf\n", &a, &b, &c, &wt) == 4) {
        if (ns == scap) { scap *= 2; sp = realloc(sp, scap * 8); si = realloc(si, scap * 4); sw = realloc(sw, scap * 8); }
        sp[ns] = b; si[ns] = item_of[c]; sw[ns] = wt; ns++;
        if (b > max_person) max_person = b;
    }
    fclose(f);
    persons = max_person + 1;
    start = calloc(persons + 1, 8);
    for (int64_t i = 0; i < ns; i++) start[sp[i] + 1]++;
    for (int64_t p = 0; p < persons; p++) start[p + 1] += start[p];
    int64_t *cursor = malloc((persons + 1) * 8);
    memcpy(cursor, start, (persons + 1) * 8);
    entry_item = malloc(ns * 4); entry_weight = malloc(ns * 8);
    for (int64_t i = 0; i < ns; i++) { int64_t at = cursor[sp[i]]++; entry_item[at] = si[i]; entry_weight[at] = sw[i]; }
    free(sp); free(si); free(sw); free(cursor);

    printf("[");
    int64_t released = 0, released_sum = 0;
    for (int run = 0; run < runs; run++) {
        double began = now_seconds();
        worker_t *w = calloc(threads, sizeof(worker_t));
        pthread_t *t = malloc(threads * sizeof(pthread_t));
        for (int i = 0; i < threads; i++) {
            /* equal signal shares */
            int64_t lo = 0, hi = persons;
            for (int64_t target = ns * i / threads; lo < hi;) { int64_t m = (lo + hi) / 2; if (start[m] < target) lo = m + 1; else hi = m; }
            w[i].from = lo;
            w[i].pairs = calloc((int64_t)items_count * items_count, 4);
            w[i].within = calloc((int64_t)items_count * partners_count, 8);
            w[i].overlap = calloc(partners_count * partners_count, 8);
            w[i].own_items = calloc(items_count, 8);
            w[i].own_persons = calloc(partners_count, 8);
        }
        for (int i = 0; i < threads; i++) w[i].to = i + 1 < threads ? w[i + 1].from : persons;
        for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, count_range, &w[i]);
        for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
        for (int i = 1; i < threads; i++) {
            for (int64_t j = 0; j < (int64_t)items_count * items_count; j++) w[0].pairs[j] += w[i].pairs[j];
            for (int64_t j = 0; j < (int64_t)items_count * partners_count; j++) w[0].within[j] += w[i].within[j];
            for (int j = 0; j < partners_count * partners_count; j++) w[0].overlap[j] += w[i].overlap[j];
        }
        double took = now_seconds() - began;
        released = 0; released_sum = 0;
        for (int x = 0; x < items_count; x++) {
            for (int y = x + 1; y < items_count; y++) {
                int pa = item_partner[x], pb = item_partner[y];
                if (pa == pb) continue;
                int64_t nxy = w[0].pairs[(int64_t)x * items_count + y];
                int lo = pa < pb ? pa : pb, hi = pa < pb ? pb : pa;
                if (nxy >= k && w[0].within[(int64_t)x * partners_count + pb] >= k && w[0].within[(int64_t)y * partners_count + pa] >= k &&
                    w[0].overlap[lo * partners_count + hi] >= k) { released++; released_sum += nxy; }
            }
        }
        printf("%s%.4f", run ? ", " : "", took);
        for (int i = 0; i < threads; i++) { free(w[i].pairs); free(w[i].within); free(w[i].overlap); free(w[i].own_items); free(w[i].own_persons); }
        free(w); free(t);
    }
    printf("]\n%lld %lld\n", (long long)released, (long long)released_sum);
    return 0;
}
