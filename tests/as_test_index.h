/* as_test_index.h - run a store test against the index named by AS_TEST_INDEX (alex, btree, sorted;
 * unset = the default), so CMake registers one suite several times (see CMakeLists.txt). */
#ifndef AS_TEST_INDEX_H
#define AS_TEST_INDEX_H

#include "alexstorage.h"

#include <stdio.h>
#include <stdlib.h>

/* Set o->index from AS_TEST_INDEX; an unknown name aborts the test run with a message. */
static inline void as_test_index(as_options *o)
{
    const char *name = getenv("AS_TEST_INDEX");
    if (!name || !*name)
        return;
    if (as_index_kind_parse(name, &o->index) != AS_OK) {
        fprintf(stderr, "AS_TEST_INDEX=%s is not one of alex, btree, sorted\n", name);
        exit(2);
    }
}

#endif
