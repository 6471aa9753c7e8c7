/* hello_alexstorage.c - the smallest useful AlexStorage program, using only the installed header:
 * open a store, write, read back (zero copy), scan, delete, close.
 *
 *   cc hello_alexstorage.c $(pkg-config --cflags --libs alexstorage) -o hello
 *   ./hello /tmp/hello-store
 */
#include <alexstorage.h>

#include <stdio.h>
#include <string.h>

static int print_record(void *arg, int64_t key, const void *val, size_t len)
{
    (void)arg;
    printf("  %lld = %.*s\n", (long long)key, (int)len, (const char *)val);
    return 0;
}

/* Print what failed and why; returns 1 for main's exit status. */
static int fail(const char *what, int rc, const char *detail)
{
    fprintf(stderr, "%s: %s: %s\n", what, as_strerror(rc), detail);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR   (DIR is created if missing)\n", argv[0]);
        return 2;
    }
    as_options opt;
    as_options_default(&opt);
    opt.sync_mode = AS_SYNC_EACH; /* every put is durable when it returns */
    as_db *db;
    char err[1024];
    int rc = as_open(argv[1], &opt, &db, err, sizeof(err));
    if (rc != AS_OK)
        return fail("as_open", rc, err);
    printf("opened %s (library %s): %s\n", argv[1], AS_VERSION_STRING, err);
    as_session *s;
    if ((rc = as_session_open(db, &s)) != AS_OK)
        return fail("as_session_open", rc, as_errmsg(db));
    const char *greetings[] = {"hello", "hallo", "bonjour"};
    for (int64_t k = 0; k < 3; k++)
        if ((rc = as_put(s, k * 10, greetings[k], strlen(greetings[k]))) != AS_OK)
            return fail("as_put", rc, as_session_errmsg(s));
    const void *val;
    size_t len;
    if ((rc = as_get(s, 10, &val, &len)) != AS_OK)
        return fail("as_get", rc, as_session_errmsg(s));
    printf("get 10 -> %.*s\n", (int)len, (const char *)val);
    if ((rc = as_del(s, 20)) != AS_OK)
        return fail("as_del", rc, as_session_errmsg(s));
    printf("scan from 0:\n");
    size_t seen = 0;
    if ((rc = as_scan(s, 0, 100, print_record, NULL, &seen)) != AS_OK)
        return fail("as_scan", rc, as_session_errmsg(s));
    as_session_close(s);
    if ((rc = as_close(db)) != AS_OK)
        return fail("as_close", rc, "close");
    printf("%zu records\n", seen);
    return seen == 2 ? 0 : 1;
}
